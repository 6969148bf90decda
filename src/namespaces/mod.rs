//! Linux namespaces: which ones a container gets new, which ones it joins by path, and
//! the few syscalls to do either.
//!
//! Paths are opened (and checked to be a namespace of the right type) by the runtime
//! before the init is cloned, so a bad path fails `create` before anything runs.

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NsError {
    #[error("linux.namespaces[{index}].path: open {path}: {source}")]
    Open {
        index: usize,
        path: String,
        source: std::io::Error,
    },
    #[error("linux.namespaces[{index}].path: {path} is not a {kind} namespace")]
    WrongType {
        index: usize,
        path: String,
        kind: &'static str,
    },
    #[error("{what}: {source}")]
    Sys {
        what: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, NsError>;

fn sys(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NsError {
    let what = what.into();
    move |source| NsError::Sys { what, source }
}

/// The clone flag of a namespace type.
pub fn clone_flag(t: LinuxNamespaceType) -> libc::c_int {
    match t {
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::User => libc::CLONE_NEWUSER,
        LinuxNamespaceType::Cgroup => libc::CLONE_NEWCGROUP,
        LinuxNamespaceType::Time => libc::CLONE_NEWTIME,
    }
}

/// The name under /proc/<pid>/ns/.
pub fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Time => "time",
    }
}

/// A namespace to join: its type and an open fd to it.
#[derive(Debug)]
pub struct Join {
    pub typ: LinuxNamespaceType,
    pub fd: OwnedFd,
}

/// The namespace plan of a container.
#[derive(Debug, Default)]
pub struct Plan {
    /// Namespace types the container gets fresh.
    pub new: Vec<LinuxNamespaceType>,
    /// Namespaces to join, user namespace first.
    pub join: Vec<Join>,
}

impl Plan {
    pub fn from_spec(spec: &Spec) -> Result<Plan> {
        let mut plan = Plan::default();
        let list = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
        for (index, ns) in list.into_iter().flatten().enumerate() {
            match ns.path() {
                None => plan.new.push(ns.typ()),
                Some(path) => plan.join.push(Join {
                    typ: ns.typ(),
                    fd: open_ns(index, path, ns.typ())?,
                }),
            }
        }
        // Joining the user namespace first gives the capabilities to join the others it owns.
        plan.join.sort_by_key(|j| j.typ != LinuxNamespaceType::User);
        Ok(plan)
    }

    pub fn is_new(&self, t: LinuxNamespaceType) -> bool {
        self.new.contains(&t)
    }

    pub fn joins(&self, t: LinuxNamespaceType) -> bool {
        self.join.iter().any(|j| j.typ == t)
    }

    /// Whether the container has a namespace of type `t` other than the caller's.
    pub fn has(&self, t: LinuxNamespaceType) -> bool {
        self.is_new(t) || self.joins(t)
    }

    pub fn take_join(&mut self, t: LinuxNamespaceType) -> Option<Join> {
        let i = self.join.iter().position(|j| j.typ == t)?;
        Some(self.join.remove(i))
    }
}

fn open_ns(index: usize, path: &std::path::Path, typ: LinuxNamespaceType) -> Result<OwnedFd> {
    let file = File::options()
        .read(true)
        .open(path)
        .map_err(|source| NsError::Open {
            index,
            path: path.display().to_string(),
            source,
        })?;
    // NS_GET_NSTYPE tells the namespace type of an nsfs file (EINVAL/ENOTTY for others).
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: ioctl on an fd we own, with no argument.
    let got = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE as _) };
    if got != clone_flag(typ) {
        return Err(NsError::WrongType {
            index,
            path: path.display().to_string(),
            kind: proc_name(typ),
        });
    }
    Ok(file.into())
}

/// Joins the namespace behind `fd`.
pub fn setns(join: &Join) -> Result<()> {
    // SAFETY: setns on an fd we own; the nstype makes the kernel check the fd's type.
    if unsafe { libc::setns(join.fd.as_raw_fd(), clone_flag(join.typ)) } != 0 {
        return Err(sys(format!("join {} namespace", proc_name(join.typ)))(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// unshare(2) of the given flags.
pub fn unshare(flags: libc::c_int, what: &str) -> Result<()> {
    // SAFETY: unshare only changes this process's namespaces.
    if unsafe { libc::unshare(flags) } != 0 {
        return Err(sys(format!("unshare {what}"))(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Saves the caller's `/proc/self/ns/<name>` so a temporary setns/unshare affecting only
/// future children (pid, time) can be undone after the clone.
pub fn save_current(name: &str) -> Result<OwnedFd> {
    let path = PathBuf::from("/proc/self/ns").join(name);
    let f = File::open(&path).map_err(sys(format!("open {}", path.display())))?;
    Ok(f.into())
}

pub fn restore(typ: LinuxNamespaceType, saved: OwnedFd) -> Result<()> {
    setns(&Join { typ, fd: saved })
}

/// Writes `linux.timeOffsets` for the time namespace just unshared by this process;
/// it applies to the children cloned next (the kernel accepts offsets only before any
/// process has entered the namespace).
pub fn write_time_offsets(spec: &Spec) -> Result<()> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        text.push_str(&format!(
            "{clock} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if text.is_empty() {
        return Ok(());
    }
    std::fs::write("/proc/self/timens_offsets", text)
        .map_err(sys("linux.timeOffsets: write /proc/self/timens_offsets"))
}

/// Writes the uid and gid maps of the user namespace of `pid` (the init, waiting).
pub fn write_id_maps(spec: &Spec, pid: i32) -> Result<()> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let format = |maps: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        maps.iter()
            .flatten()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect::<String>()
    };
    for (file, field, text) in [
        ("uid_map", "linux.uidMappings", format(linux.uid_mappings())),
        ("gid_map", "linux.gidMappings", format(linux.gid_mappings())),
    ] {
        let path = format!("/proc/{pid}/{file}");
        // One write(2): the kernel accepts a map only once and only in a single write.
        std::fs::write(&path, text.as_bytes()).map_err(sys(format!("{field}: write {path}")))?;
    }
    Ok(())
}
