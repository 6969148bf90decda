//! Control groups: the container's own cgroup, created before the init runs and removed
//! by delete. The cgroupfs driver only (no systemd here); v1 and v2 share one interface.
//!
//! On a hybrid host (v1 controllers plus a cgroup2 mount at /sys/fs/cgroup/unified with
//! no controllers of its own) skiff uses the v1 hierarchies and ignores the v2 mount, as
//! runc does.
//!
//! `linux.resources` is applied by [`apply_resources`] before the init is cloned, one
//! file per controller (memory.rs, cpu.rs, ...), each with its v1 and v2 form and the
//! conversions between them. Values are checked before anything is written.

mod blkio;
mod cpu;
mod cpuset;
mod devices;
mod file;
mod hugetlb;
mod memory;
mod network;
mod pids;
mod rdma;
mod resources;
mod unified;
mod v1;
mod v2;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use devices::{default_rules, DeviceRule};
pub use resources::{apply_resources, validate_resources};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cgroup {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("linux.cgroupsPath: {0}")]
    Path(String),
    #[error("{field}: {msg}")]
    Unsupported { field: String, msg: String },
    /// A value that cannot be right whatever the host (found before anything is written).
    #[error("{field}: {msg}")]
    Invalid { field: String, msg: String },
    /// A limit on a controller this host does not offer the container's cgroup.
    #[error("{field}: the {controller} cgroup controller is not available: {why}")]
    Unavailable {
        field: String,
        controller: String,
        why: String,
    },
    #[error("{field}: write {value:?} to {path}: {source}{hint}")]
    Write {
        field: String,
        path: String,
        value: String,
        source: std::io::Error,
        hint: String,
    },
    #[error("--systemd-cgroup: the systemd cgroup driver is not supported by skiff yet (no systemd on this host to test it)")]
    Systemd,
}

pub type Result<T> = std::result::Result<T, CgroupError>;

pub(crate) fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> CgroupError + 'a {
    move |source| CgroupError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// One directory of the container's cgroup in one hierarchy.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CgroupDir {
    /// Absolute path of the container's cgroup directory.
    pub path: PathBuf,
    /// Directories skiff created for it, outermost first (removed by destroy).
    #[serde(default)]
    pub created: Vec<PathBuf>,
}

/// Where the container's cgroup lives, as recorded in state.json.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum CgroupPaths {
    /// No cgroup (not created yet).
    #[default]
    None,
    /// cgroup v1: hierarchy name (controller list or `name=...`) to the directory.
    V1 { dirs: BTreeMap<String, CgroupDir> },
    /// cgroup v2 (unified).
    V2 { dir: CgroupDir },
}

impl CgroupPaths {
    pub fn dirs(&self) -> Vec<&CgroupDir> {
        match self {
            CgroupPaths::None => vec![],
            CgroupPaths::V1 { dirs } => dirs.values().collect(),
            CgroupPaths::V2 { dir } => vec![dir],
        }
    }

    /// The directory of a v1 hierarchy holding `controller`, or the v2 directory.
    pub fn dir_for(&self, controller: &str) -> Option<&Path> {
        match self {
            CgroupPaths::None => None,
            CgroupPaths::V1 { dirs } => dirs
                .iter()
                .find(|(name, _)| name.split(',').any(|c| c == controller))
                .map(|(_, d)| d.path.as_path()),
            CgroupPaths::V2 { dir } => Some(&dir.path),
        }
    }
}

/// The cgroup layout of this host.
#[derive(Debug, Clone)]
pub enum Layout {
    V1(Vec<v1::Hierarchy>),
    V2 { mount: PathBuf },
}

impl Layout {
    pub fn detect() -> Result<Layout> {
        if v2::is_unified(Path::new(v2::MOUNT)) {
            return Ok(Layout::V2 {
                mount: PathBuf::from(v2::MOUNT),
            });
        }
        Ok(Layout::V1(v1::hierarchies()?))
    }
}

/// Computes the container's cgroup directories from `linux.cgroupsPath`: absolute paths
/// are relative to each hierarchy's root, relative ones (and the default, the container
/// id) to skiff's own cgroup, as runc's cgroupfs driver does.
pub fn resolve(layout: &Layout, cgroups_path: Option<&Path>, id: &str) -> Result<CgroupPaths> {
    let inner = match cgroups_path {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from(id),
    };
    if inner
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(CgroupError::Path(format!(
            "{} must not contain ..",
            inner.display()
        )));
    }
    match layout {
        Layout::V1(hierarchies) => v1::resolve(hierarchies, &inner),
        Layout::V2 { mount } => v2::resolve(mount, &inner),
    }
}

/// Creates the directories (and records which ones were new).
pub fn create(paths: &mut CgroupPaths) -> Result<()> {
    match paths {
        CgroupPaths::None => Ok(()),
        CgroupPaths::V1 { dirs } => v1::create(dirs),
        CgroupPaths::V2 { dir } => v2::create(Path::new(v2::MOUNT), dir),
    }
}

/// Moves `pid` into the container's cgroup in every hierarchy.
pub fn add_process(paths: &CgroupPaths, pid: i32) -> Result<()> {
    for dir in paths.dirs() {
        let procs = dir.path.join("cgroup.procs");
        std::fs::write(&procs, pid.to_string()).map_err(io_err("add process to", &procs))?;
    }
    Ok(())
}

/// Pids of every process in the container's cgroup.
pub fn processes(paths: &CgroupPaths) -> Result<Vec<i32>> {
    let dir = match paths {
        CgroupPaths::None => return Ok(vec![]),
        CgroupPaths::V1 { .. } => paths
            .dir_for("pids")
            .or_else(|| paths.dir_for("freezer"))
            .or_else(|| paths.dirs().first().map(|d| d.path.as_path())),
        CgroupPaths::V2 { dir } => Some(dir.path.as_path()),
    };
    let Some(dir) = dir else { return Ok(vec![]) };
    let procs = dir.join("cgroup.procs");
    // kill --all signals these pids: a cgroup.procs that is a plain file (a directory that
    // is no longer, or never was, on cgroupfs) could name anybody.
    if dir.exists() && !is_cgroup_fs(dir) {
        return Err(CgroupError::Io {
            what: "read (not on cgroupfs)",
            path: procs.display().to_string(),
            source: std::io::Error::from_raw_os_error(libc::EXDEV),
        });
    }
    let text = match std::fs::read_to_string(&procs) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io_err("read", &procs)(e)),
    };
    Ok(text.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Polls `done` (up to ~1 s) until the freezer reached the wanted state.
pub(crate) fn wait_frozen(
    file: &Path,
    frozen: bool,
    mut done: impl FnMut() -> Result<bool>,
) -> Result<()> {
    for _ in 0..1000 {
        if done()? {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(CgroupError::Io {
        what: if frozen { "freeze" } else { "thaw" },
        path: file.display().to_string(),
        source: std::io::Error::from_raw_os_error(libc::EBUSY),
    })
}

/// Freezes or thaws the cgroup (v1 freezer, v2 cgroup.freeze); a no-op without a freezer.
pub fn set_frozen(paths: &CgroupPaths, frozen: bool) -> Result<()> {
    match paths {
        CgroupPaths::None => Ok(()),
        CgroupPaths::V1 { .. } => match paths.dir_for("freezer") {
            Some(dir) => v1::set_frozen(dir, frozen),
            None => Ok(()),
        },
        CgroupPaths::V2 { dir } => v2::set_frozen(&dir.path, frozen),
    }
}

pub fn is_frozen(paths: &CgroupPaths) -> bool {
    match paths {
        CgroupPaths::None => false,
        CgroupPaths::V1 { .. } => paths.dir_for("freezer").is_some_and(v1::is_frozen),
        CgroupPaths::V2 { dir } => v2::is_frozen(&dir.path),
    }
}

/// Removes the directories skiff created, innermost first. Waits briefly for the kernel
/// to drop exited tasks (rmdir answers EBUSY until then).
pub fn destroy(paths: &CgroupPaths) -> Result<()> {
    let mut first_error = None;
    for dir in paths.dirs() {
        for path in dir.created.iter().rev() {
            if let Err(e) = rmdir_retrying(path) {
                // An outer directory we created may since be shared with another container.
                if path == &dir.path
                    || !matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EBUSY))
                {
                    first_error.get_or_insert(CgroupError::Io {
                        what: "remove",
                        path: path.display().to_string(),
                        source: e,
                    });
                }
                break;
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn rmdir_retrying(path: &Path) -> std::io::Result<()> {
    let mut delay = std::time::Duration::from_millis(1);
    for _ in 0..12 {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_millis(100));
            }
            Err(e) => return Err(e),
        }
    }
    std::fs::remove_dir(path)
}

/// Creates `path` and any missing parents, returning the ones created, outermost first.
pub(crate) fn mkdir_all(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(path);
    while let Some(p) = cur {
        if p.exists() {
            break;
        }
        missing.push(p.to_path_buf());
        cur = p.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for p in missing {
        match std::fs::create_dir(&p) {
            Ok(()) => created.push(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                for c in created.iter().rev() {
                    let _ = std::fs::remove_dir(c);
                }
                return Err(e);
            }
        }
    }
    Ok(created)
}

/// Whether `path` is on cgroupfs or cgroup2fs (never trust a `cgroup.procs` elsewhere).
pub fn is_cgroup_fs(path: &Path) -> bool {
    match nix::sys::statfs::statfs(path) {
        Ok(s) => {
            let t = s.filesystem_type();
            t == nix::sys::statfs::CGROUP_SUPER_MAGIC || t == nix::sys::statfs::CGROUP2_SUPER_MAGIC
        }
        Err(_) => false,
    }
}
