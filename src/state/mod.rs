//! The `--root` state directory: `<root>/<id>/state.json`, written atomically, and a lock
//! per container that serializes commands changing it.
//!
//! Readers (`state`, `list`, `kill`) never take the lock: state.json is replaced by
//! rename, so a reader sees the old or the new file, never a torn one, and a hook run by
//! `create` may call `skiff state` on its own container without deadlocking.

mod liveness;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub use liveness::{process_start_time, ProcessLiveness};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("container does not exist")]
    NotExist,
    #[error("container with id {0} already exists")]
    Exists(String),
    #[error("invalid container id {id:?}: {why}")]
    InvalidId { id: String, why: &'static str },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: corrupt state file: {msg}")]
    Corrupt { path: String, msg: String },
}

pub type Result<T> = std::result::Result<T, StateError>;

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        };
        f.write_str(s)
    }
}

/// What skiff remembers about a container between commands. The OCI state fields come
/// first; the rest is what later calls need and are not given again (podman never passes
/// --systemd-cgroup, containerd's cleanup `delete --force` has no bundle).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    pub oci_version: String,
    pub id: String,
    pub status: Status,
    pub pid: i32,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// Start time of the init (field 22 of /proc/<pid>/stat), to tell it from a reused pid.
    pub init_start_time: u64,
    #[serde(default)]
    pub systemd_cgroup: bool,
    /// The container's cgroup, as created.
    pub cgroup: crate::cgroups::CgroupPaths,
    /// Whether the container has its own PID namespace (SIGKILL of init kills everything).
    pub own_pid_ns: bool,
    /// Whether config.json has a `process` (start fails without one).
    pub has_process: bool,
    /// Hooks that later commands run (poststart by start, poststop by delete).
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// Whether the container has its own mount namespace. Without one its mounts were
    /// made in the caller's namespace, under the rootfs, and delete unmounts them.
    pub own_mount_ns: bool,
}

impl ContainerState {
    /// The JSON `state` prints: the runtime-spec state object.
    pub fn oci_json(&self, status: Status) -> serde_json::Value {
        serde_json::json!({
            "ociVersion": self.oci_version,
            "id": self.id,
            "status": status.to_string(),
            "pid": if status == Status::Stopped { 0 } else { self.pid },
            "bundle": self.bundle,
            "rootfs": self.rootfs,
            "created": self.created,
            "owner": self.owner,
            "annotations": self.annotations,
        })
    }
}

/// Checks a container id: runc's rule (letters, digits, `_+-.`), never `.` or `..`,
/// so an id can never name a path outside the root.
pub fn validate_id(id: &str) -> Result<()> {
    let bad = |why| {
        Err(StateError::InvalidId {
            id: id.to_string(),
            why,
        })
    };
    if id.is_empty() {
        return bad("empty");
    }
    if id == "." || id == ".." {
        return bad("is . or ..");
    }
    if id.len() > 1024 {
        return bad("longer than 1024 bytes");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b))
    {
        return bad("only letters, digits and _ + - . are allowed");
    }
    Ok(())
}

/// The state root (`--root`).
#[derive(Clone, Debug)]
pub struct Root {
    pub path: PathBuf,
}

impl Root {
    /// The default root: /run/skiff for root (independent of the environment, since
    /// podman calls with XDG_RUNTIME_DIR set and never passes --root),
    /// $XDG_RUNTIME_DIR/skiff otherwise.
    pub fn default_path() -> PathBuf {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
                return PathBuf::from(dir).join("skiff");
            }
        }
        PathBuf::from("/run/skiff")
    }

    pub fn new(path: PathBuf) -> Root {
        Root { path }
    }

    fn ensure(&self) -> Result<()> {
        // containerd passes a per-namespace root that may not exist yet (runc: 0700).
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.path)
            .map_err(io("create state root", &self.path))
    }

    pub fn container_dir(&self, id: &str) -> Result<PathBuf> {
        validate_id(id)?;
        Ok(self.path.join(id))
    }

    /// Creates `<root>/<id>` and locks it; an existing id is an error.
    pub fn create(&self, id: &str) -> Result<Container> {
        let dir = self.container_dir(id)?;
        self.ensure()?;
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StateError::Exists(id.to_string()))
            }
            Err(e) => return Err(io("create state dir", &dir)(e)),
        }
        let lock = match lock_dir(&dir) {
            Ok(lock) => lock,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        Ok(Container {
            dir,
            _lock: Some(lock),
        })
    }

    /// Opens an existing container's state dir, locked.
    pub fn open_locked(&self, id: &str) -> Result<Container> {
        let dir = self.container_dir(id)?;
        let lock = match lock_dir(&dir) {
            Err(StateError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotExist)
            }
            other => other?,
        };
        // The dir may have been deleted while we waited for the lock.
        if !dir.join("state.json").exists() {
            return Err(StateError::NotExist);
        }
        Ok(Container {
            dir,
            _lock: Some(lock),
        })
    }

    /// Opens an existing container's state dir without locking (read-only use).
    pub fn open(&self, id: &str) -> Result<Container> {
        let dir = self.container_dir(id)?;
        if !dir.join("state.json").exists() {
            return Err(StateError::NotExist);
        }
        Ok(Container { dir, _lock: None })
    }

    /// Ids of all containers with a state file, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.path) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("read state root", &self.path)(e)),
        };
        let mut ids: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("state.json").exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

fn lock_dir(dir: &Path) -> Result<File> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(io("open state dir", dir))?;
    // SAFETY: flock on a valid fd we own; blocks until the lock is ours.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io("lock state dir", dir)(std::io::Error::last_os_error()));
    }
    Ok(f)
}

/// One container's state dir; holds its lock (when taken) until dropped.
pub struct Container {
    pub dir: PathBuf,
    _lock: Option<File>,
}

impl Container {
    pub fn state_file(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn load(&self) -> Result<ContainerState> {
        let path = self.state_file();
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StateError::NotExist),
            Err(e) => return Err(io("read", &path)(e)),
        };
        serde_json::from_slice(&text).map_err(|e| StateError::Corrupt {
            path: path.display().to_string(),
            msg: e.to_string(),
        })
    }

    /// Replaces state.json atomically (temporary file + rename).
    pub fn save(&self, state: &ContainerState) -> Result<()> {
        let path = self.state_file();
        let text = serde_json::to_vec(state).map_err(|e| StateError::Corrupt {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        write_atomic(&path, &text, 0o600).map_err(io("write", &path))
    }

    /// Removes the state dir and everything in it.
    pub fn remove(self) -> Result<()> {
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("remove state dir", &self.dir)(e)),
        }
    }

    /// The live status: a recorded status is only believed while the init is alive
    /// (same pid *and* start time: pids are reused quickly here).
    pub fn live_status(&self, state: &ContainerState) -> Status {
        if state.status == Status::Stopped || state.pid <= 0 {
            return Status::Stopped;
        }
        match ProcessLiveness::check(state.pid, state.init_start_time) {
            ProcessLiveness::Alive => {
                if crate::cgroups::is_frozen(&state.cgroup) {
                    Status::Paused
                } else {
                    state.status
                }
            }
            ProcessLiveness::Gone => Status::Stopped,
        }
    }
}

/// Writes `data` to `path` via a temporary file in the same directory and rename(2), so
/// readers never see a partial file.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .custom_flags(libc::O_CLOEXEC)
            .open(&tmp)?;
        f.write_all(data)?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
#[path = "tests/state.rs"]
mod tests;
