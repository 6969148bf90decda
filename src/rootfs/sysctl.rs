//! `linux.sysctl`: only keys that belong to a namespace the container has of its own,
//! written through a private procfs instance.
//!
//! The writes go through the verified procfs handle ([`super::procfs`]), so neither the
//! image nor the config's own mounts (a tmpfs over /proc/sys, CVE-2019-16884 /
//! CVE-2025-52881) can redirect them.

use super::procfs::Procfs;
use super::{Result, RootfsError};
use crate::spec::SpecError;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType as Ns};
use std::collections::HashMap;

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

/// Rejects keys that would change the host: not namespaced at all, namespaced by a
/// namespace the container does not have, or by one it joins that is the runtime's own
/// (a `path` naming the host's namespace, as runc checks).
pub fn validate(
    sysctl: &HashMap<String, String>,
    namespaces: &[LinuxNamespace],
) -> std::result::Result<(), SpecError> {
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        let field = format!("linux.sysctl.{key}");
        let invalid = |msg: String| SpecError::Invalid {
            field: field.clone(),
            msg,
        };
        if key.is_empty()
            || key.starts_with('.')
            || key.ends_with('.')
            || key.contains("..")
            || key.contains(['/', '\0'])
        {
            return Err(invalid("invalid sysctl name".into()));
        }
        let Some(ns) = namespace_of(key) else {
            return Err(invalid(
                "is not namespaced: setting it would change the host".into(),
            ));
        };
        let name = crate::namespaces::proc_name(ns);
        match namespaces.iter().find(|n| n.typ() == ns) {
            None => {
                return Err(invalid(format!(
                    "needs a {name} namespace of its own in linux.namespaces"
                )))
            }
            Some(n) => {
                if let Some(path) = n.path() {
                    if same_file(path, &format!("/proc/self/ns/{name}")) {
                        return Err(invalid(format!(
                            "the {name} namespace joined at {} is the host's: setting it would change the host",
                            path.display()
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

fn same_file(a: &std::path::Path, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Writes every sysctl. Runs in the container's namespaces, before its mounts: the
/// values land in the namespaces of the writer, whichever procfs instance is used.
pub fn apply(sysctl: &HashMap<String, String>) -> Result<()> {
    if sysctl.is_empty() {
        return Ok(());
    }
    let proc = Procfs::open().map_err(|e| RootfsError::Sys {
        field: "linux.sysctl".into(),
        what: "open a private procfs".into(),
        source: e,
    })?;
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort();
    for key in keys {
        let value = &sysctl[key];
        let rel = format!("sys/{}", key.replace('.', "/"));
        proc.write(&rel, value.as_bytes())
            .map_err(|e| RootfsError::Sys {
                field: format!("linux.sysctl.{key}"),
                what: format!("write {value:?} to /proc/{rel}"),
                source: e,
            })?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/sysctl.rs"]
mod tests;
