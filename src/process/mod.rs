//! The container process: how it is started, and everything about it that the kernel
//! keeps per process (credentials, capabilities, rlimits, fds, terminal).
//!
//! # Process model
//!
//! `skiff create` is single-threaded and, for the commands that enter a container, runs
//! from a read-only, private view of its own binary (see [`sealed`]). It clones the
//! container's init straight into the new namespaces with one `clone3`: one fork, and no
//! `runc init`-style re-exec. The init is a copy of skiff's memory running ordinary Rust
//! code; the skiff binary is never executed inside the container. The init:
//!
//! 1. joins the namespaces given by path and prepares what does not depend on its cgroup
//!    while the runtime puts it there (with a new user namespace it first waits for its
//!    uid/gid maps), then, told so over a socketpair, unshares the cgroup namespace (now
//!    rooted at its own cgroup);
//! 2. prepares the rootfs (mounts, devices), lets the runtime run the prestart and
//!    createRuntime hooks, runs createContainer hooks, pivots, masks paths, sets up the
//!    console, rlimits, credentials and capabilities;
//! 3. reports "ready" and blocks in `accept()` on `<state dir>/exec.sock`: the
//!    created→running barrier. `create` returns; the init stays behind as the caller's
//!    child once skiff exits (containerd's shim and conmon are subreapers).
//! 4. `start` connects; the init runs the startContainer hooks and `execve`s the
//!    container process. The connection is close-on-exec, so its EOF tells `start` the
//!    exec happened (an error message instead tells why it did not). `run` starts its own
//!    container the same way over the socketpair, without a socket in the state dir.
//!
//! Only two configurations need a second process: joining a user namespace by path, or
//! creating one while joining other namespaces by path. There the namespaces must be
//! entered in order (user first) before the PID namespace is created, so the clone
//! starts in no new namespace, sets them up with setns/unshare and forks the real init
//! with CLONE_PARENT, keeping it a direct child of the runtime.
//!
//! CVE-2019-5736: the container process replaces the init by `execve`; if the image's
//! program were `#!/proc/self/exe`, the kernel would run the init's own executable, which
//! is the read-only view (or a sealed memfd) — never the host's skiff file. The init is
//! also made non-dumpable before it is visible to any other process in the container, so
//! nothing there can open its `/proc/<pid>/exe` or `/proc/<pid>/mem`.

pub mod caps;
pub mod clone;
pub mod console;
pub mod exec;
pub mod fds;
pub mod init;
pub mod lsm;
pub mod rlimits;
pub mod sched;
pub mod sealed;
pub mod signals;
pub mod sync;
pub mod tty;
pub mod user;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{what}: {source}")]
    Sys {
        what: String,
        source: std::io::Error,
    },
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    #[error("{0}")]
    Init(String),
}

pub type Result<T> = std::result::Result<T, ProcessError>;

pub(crate) fn sys(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProcessError {
    let what = what.into();
    move |source| ProcessError::Sys { what, source }
}

pub(crate) fn last_err(what: impl Into<String>) -> ProcessError {
    ProcessError::Sys {
        what: what.into(),
        source: std::io::Error::last_os_error(),
    }
}
