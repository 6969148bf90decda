//! A verified procfs handle (security.md rule 7).
//!
//! CVE-2019-16884 and CVE-2025-52881: a `/proc` in the image, or a mount the config puts
//! over `/proc/sys` or `/proc/self/attr`, made runtimes write sysctls and labels into a
//! decoy file. Writes through this handle go to a procfs instance nobody else can reach
//! — a fresh one (fsopen), else a clone of `/proc` without its submounts — checked to be
//! procfs (`PROC_SUPER_MAGIC`), and every file is opened beneath it with no symlinks, no
//! magic links and no mount crossings.

use super::mount_api::{self as api, FsContext};
use super::resolve;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

pub struct Procfs {
    fd: OwnedFd,
}

impl Procfs {
    /// A private procfs of the caller's PID namespace.
    pub fn open() -> std::io::Result<Procfs> {
        let fd = fresh()
            .or_else(|_| clone_of("/proc"))
            // No mount privileges at all (a PID namespace owned by another user
            // namespace): the plain /proc, still checked and walked without crossing
            // mounts, so an overmount makes the open fail instead of redirecting it.
            .or_else(|_| plain("/proc"))?;
        verify(fd.as_fd(), nix::sys::statfs::PROC_SUPER_MAGIC, "/proc")?;
        Ok(Procfs { fd })
    }

    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens `rel` (e.g. `sys/net/ipv4/ip_forward`, `1234/uid_map`) beneath the handle.
    pub fn open_file(&self, rel: impl AsRef<Path>, flags: i32) -> std::io::Result<OwnedFd> {
        resolve::open_beneath_strict(self.fd.as_fd(), rel, flags)
    }

    /// Reads `self/<rel>` (e.g. `mountinfo`) of the calling process, following only the
    /// `self` link at the top of the handle.
    pub fn read_self(&self, rel: &str) -> std::io::Result<String> {
        let fd = resolve::open_beneath_proc_self(
            self.fd.as_fd(),
            format!("self/{rel}"),
            libc::O_RDONLY,
        )?;
        std::io::read_to_string(std::fs::File::from(fd))
    }

    /// Writes `data` to `rel` in one write(2) (procfs files take a value per write).
    pub fn write(&self, rel: impl AsRef<Path>, data: &[u8]) -> std::io::Result<()> {
        let fd = self.open_file(rel, libc::O_WRONLY)?;
        std::fs::File::from(fd).write_all(data)
    }
}

fn fresh() -> std::io::Result<OwnedFd> {
    let fs = FsContext::open("proc")?;
    fs.create()?;
    fs.mount(api::MOUNT_ATTR_NOSUID | api::MOUNT_ATTR_NODEV | api::MOUNT_ATTR_NOEXEC)
}

/// A detached copy of the mount at `path`, without the mounts below it.
fn clone_of(path: &str) -> std::io::Result<OwnedFd> {
    api::open_tree(None, path, api::OPEN_TREE_CLONE)
}

fn plain(path: &str) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    Ok(std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)?
        .into())
}

/// Checks that `fd` is on a filesystem of type `magic` (procfs, sysfs, devpts).
pub fn verify(fd: BorrowedFd, magic: nix::sys::statfs::FsType, what: &str) -> std::io::Result<()> {
    let st = nix::sys::statfs::fstatfs(fd).map_err(std::io::Error::from)?;
    if st.filesystem_type() != magic {
        return Err(std::io::Error::other(format!(
            "{what} is not the filesystem it claims to be (statfs magic {:#x}, want {:#x})",
            st.filesystem_type().0,
            magic.0
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/procfs.rs"]
mod tests;
