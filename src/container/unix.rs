//! Unix stream sockets by path: the barrier socket, --console-socket, the seccomp
//! listener. sun_path holds 107 bytes and containerd's state roots are long, so deeper
//! paths are reached through an fd of their directory (/proc/self/fd/N/name), kept open
//! until bind/connect is done.

use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, UnixAddr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

fn address(path: &Path) -> std::io::Result<(UnixAddr, Option<OwnedFd>)> {
    if path.as_os_str().len() < 100 {
        return Ok((UnixAddr::new(path)?, None));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let fd: OwnedFd = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)?
        .into();
    let short = Path::new("/proc/self/fd")
        .join(fd.as_raw_fd().to_string())
        .join(name);
    Ok((UnixAddr::new(&short)?, Some(fd)))
}

fn stream() -> std::io::Result<OwnedFd> {
    Ok(socket::socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?)
}

/// A connected stream socket to `path`.
pub fn connect(path: &Path) -> std::io::Result<OwnedFd> {
    let fd = stream()?;
    let (addr, _dir) = address(path)?;
    socket::connect(fd.as_raw_fd(), &addr)?;
    Ok(fd)
}

/// A stream socket bound at `path` and listening.
pub fn listen(path: &Path) -> std::io::Result<OwnedFd> {
    let fd = stream()?;
    let (addr, _dir) = address(path)?;
    socket::bind(fd.as_raw_fd(), &addr)?;
    socket::listen(
        &fd.as_fd(),
        socket::Backlog::new(4).unwrap_or(socket::Backlog::MAXCONN),
    )?;
    Ok(fd)
}

#[cfg(test)]
#[path = "tests/unix.rs"]
mod tests;
