//! `linux.sysctl`: only keys that belong to a namespace the container has of its own,
//! written through a private procfs instance.
//!
//! The writes go through a fresh, detached procfs mount (fsopen + fsmount), opened
//! beneath with no symlinks and no mount crossings, so neither the image nor the config's
//! own mounts (a tmpfs over /proc/sys, CVE-2019-16884 / CVE-2025-52881) can redirect them.

use super::mount_api::{self as api, FsContext};
use super::resolve;
use super::{Result, RootfsError};
use crate::spec::SpecError;
use oci_spec::runtime::LinuxNamespaceType as Ns;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

const IPC_KEYS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The namespace a sysctl key belongs to, if any.
fn namespace_of(key: &str) -> Option<Ns> {
    if IPC_KEYS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(Ns::Ipc)
    } else if key.starts_with("net.") {
        Some(Ns::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(Ns::Uts)
    } else {
        None
    }
}

/// Rejects keys that would change the host: not namespaced at all, or namespaced by a
/// namespace the container does not have.
pub fn validate(
    sysctl: &HashMap<String, String>,
    namespaces: &HashSet<Ns>,
) -> std::result::Result<(), SpecError> {
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        let field = format!("linux.sysctl.{key}");
        let invalid = |msg: String| SpecError::Invalid {
            field: field.clone(),
            msg,
        };
        if key.is_empty() || key.contains("..") || key.starts_with('.') || key.contains('\0') {
            return Err(invalid("invalid sysctl name".into()));
        }
        match namespace_of(key) {
            Some(ns) if namespaces.contains(&ns) => {}
            Some(ns) => {
                return Err(invalid(format!(
                    "needs a {} namespace of its own in linux.namespaces",
                    crate::namespaces::proc_name(ns)
                )))
            }
            None => {
                return Err(invalid(
                    "is not namespaced: setting it would change the host".into(),
                ))
            }
        }
    }
    Ok(())
}

fn private_procfs() -> std::io::Result<OwnedFd> {
    let fresh = (|| {
        let fs = FsContext::open("proc")?;
        fs.create()?;
        fs.mount(api::MOUNT_ATTR_NOSUID | api::MOUNT_ATTR_NODEV | api::MOUNT_ATTR_NOEXEC)
    })();
    match fresh {
        Ok(fd) => Ok(fd),
        // No permission for a new instance (e.g. a joined PID namespace owned by another
        // user namespace): fall back to /proc, checked to be procfs. Sysctls apply to the
        // writer's own namespaces either way.
        Err(_) => {
            let fd: OwnedFd = std::fs::File::options()
                .read(true)
                .custom_flags_compat(libc::O_PATH | libc::O_DIRECTORY)
                .open("/proc")?
                .into();
            let st = nix::sys::statfs::fstatfs(fd.as_fd()).map_err(std::io::Error::from)?;
            if st.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
                return Err(std::io::Error::other("/proc is not procfs"));
            }
            Ok(fd)
        }
    }
}

trait CustomFlagsCompat {
    fn custom_flags_compat(&mut self, f: i32) -> &mut Self;
}

impl CustomFlagsCompat for std::fs::OpenOptions {
    fn custom_flags_compat(&mut self, f: i32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::custom_flags(self, f | libc::O_CLOEXEC)
    }
}

/// Writes every sysctl. Runs in the container's namespaces.
pub fn apply(sysctl: &HashMap<String, String>) -> Result<()> {
    if sysctl.is_empty() {
        return Ok(());
    }
    let proc = private_procfs().map_err(|e| RootfsError::Sys {
        field: "linux.sysctl".into(),
        what: "open a private procfs".into(),
        source: e,
    })?;
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        let value = &sysctl[key];
        let rel = format!("sys/{}", key.replace('.', "/"));
        let write = || -> std::io::Result<()> {
            let fd = resolve::open_beneath_strict(proc.as_fd(), &rel, libc::O_WRONLY)?;
            std::fs::File::from(fd).write_all(value.as_bytes())
        };
        write().map_err(|e| RootfsError::Sys {
            field: format!("linux.sysctl.{key}"),
            what: format!("write {value:?} to /proc/{rel}"),
            source: e,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_keys_only() {
        let with = |ns: &[Ns]| ns.iter().copied().collect::<HashSet<Ns>>();
        let one = |k: &str| HashMap::from([(k.to_string(), "1".to_string())]);
        assert!(validate(&one("net.ipv4.ip_forward"), &with(&[Ns::Network])).is_ok());
        assert!(validate(&one("net.ipv4.ip_forward"), &with(&[Ns::Ipc])).is_err());
        assert!(validate(&one("kernel.shmmax"), &with(&[Ns::Ipc])).is_ok());
        assert!(validate(&one("fs.mqueue.msg_max"), &with(&[Ns::Ipc])).is_ok());
        assert!(validate(&one("vm.swappiness"), &with(&[Ns::Ipc, Ns::Network])).is_err());
        assert!(validate(&one("kernel.domainname"), &with(&[Ns::Uts])).is_ok());
    }
}
