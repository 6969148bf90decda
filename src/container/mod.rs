//! The runc-compatible operations, each one call from `main.rs`: create, start, state,
//! kill, delete, run, list. They string the kernel-concept modules together.

mod create;
mod delete;
mod kill;
mod list;
mod run;
mod start;
pub(crate) mod unix;

pub use create::{create, CreateOptions, Created};
pub use delete::delete;
pub use kill::kill;
pub use list::{list, state, ListFormat};
pub use run::{run, RunOptions};
pub use start::start;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error(transparent)]
    Namespace(#[from] crate::namespaces::NsError),
    #[error(transparent)]
    Process(#[from] crate::process::ProcessError),
    #[error(transparent)]
    Rootfs(#[from] crate::rootfs::RootfsError),
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error("{0}")]
    Msg(String),
    #[error("{what}: {source}")]
    Sys {
        what: String,
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn sys(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Sys { what, source }
}

/// The name of the barrier socket in a container's state dir.
pub(crate) const EXEC_SOCK: &str = "exec.sock";

/// The owner field of the state: the user name of our euid (runc: "" for root? it
/// prints the name), falling back to the number.
pub(crate) fn owner() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}
