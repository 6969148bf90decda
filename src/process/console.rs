//! `process.terminal`: a pty allocated inside the container.
//!
//! The master comes from the container's own, verified `/dev/pts/ptmx` and the slave is
//! obtained with TIOCGPTPEER from the master itself, never by opening `/dev/pts/N` by
//! name, and `/dev/console` gets the slave bind-mounted from its fd (CVE-2025-52565: a
//! swapped `/dev/pts/N` or `/dev/console` path redirected runc's console mount).

use super::{last_err, sys, ProcessError, Result};
use crate::rootfs::resolve;
use nix::sys::socket::{self, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
    pub name: String,
}

/// Opens a new pty pair from `<root>/dev/pts/ptmx`.
pub fn allocate(root: BorrowedFd, size: Option<(u16, u16)>) -> Result<Pty> {
    let master = resolve::open_in_root(
        root,
        "/dev/pts/ptmx",
        libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        resolve::NO_SYMLINKS,
    )
    .map_err(sys(
        "process.terminal: open /dev/pts/ptmx in the container (is devpts mounted at /dev/pts?)",
    ))?;
    let fs = nix::sys::statfs::fstatfs(master.as_fd())
        .map_err(|e| sys("fstatfs /dev/pts/ptmx")(e.into()))?;
    if fs.filesystem_type().0 as i64 != DEVPTS_SUPER_MAGIC {
        return Err(ProcessError::Config {
            field: "process.terminal".into(),
            msg: "/dev/pts/ptmx in the container is not on a devpts filesystem".into(),
        });
    }
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } != 0 {
        return Err(last_err("unlock pty"));
    }
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes the pty number into an unsigned int.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut n) } != 0 {
        return Err(last_err("get pty number"));
    }
    // SAFETY: TIOCGPTPEER returns a new fd for the slave side.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(last_err("open pty peer (TIOCGPTPEER)"));
    }
    // SAFETY: the kernel returned a new fd nobody else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    if let Some((rows, cols)) = size {
        set_window_size(master.as_fd(), rows, cols)?;
    }
    Ok(Pty {
        master,
        slave,
        name: format!("/dev/pts/{n}"),
    })
}

pub fn set_window_size(fd: BorrowedFd, rows: u16, cols: u16) -> Result<()> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ takes a pointer to a winsize.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(last_err("set terminal size"));
    }
    Ok(())
}

/// Makes the slave this process's controlling terminal and its stdin/stdout/stderr.
pub fn attach_slave(slave: &OwnedFd) -> Result<()> {
    // SAFETY: setsid/ioctl/dup2 on fds we own; no memory involved.
    unsafe {
        if libc::setsid() < 0 {
            return Err(last_err("setsid"));
        }
        if libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) != 0 {
            return Err(last_err("set controlling terminal"));
        }
        for target in 0..3 {
            if libc::dup2(slave.as_raw_fd(), target) < 0 {
                return Err(last_err(format!("dup pty onto fd {target}")));
            }
        }
    }
    Ok(())
}

/// Sends the master over the `--console-socket` connection: one sendmsg, exactly one fd,
/// the pty name as the (non-empty) payload, as containerd and conmon expect.
pub fn send_master(sock: BorrowedFd, pty: &Pty) -> Result<()> {
    let payload = pty.name.as_bytes();
    let iov = [IoSlice::new(payload)];
    let fds = [pty.master.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    socket::sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None)
        .map_err(|e| sys("--console-socket: send pty master")(e.into()))?;
    Ok(())
}

/// Connects to the caller's console socket (a path on the host, so before the pivot).
pub fn connect_socket(path: &std::path::Path) -> Result<OwnedFd> {
    crate::container::unix::connect(path)
        .map_err(sys(format!("--console-socket: connect {}", path.display())))
}
