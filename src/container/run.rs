//! `run`: create + start, then (in the foreground) wait for the container process,
//! forwarding signals and relaying the terminal, and delete the container afterwards.
//! The exit status is the process's own, or 128+N when it died of signal N.

use super::create::{create_container, CreateOptions, StartBy, TerminalMode};
use super::{sys, Result};
use crate::process::{clone, signals, tty};
use crate::state::Root;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub create: CreateOptions,
    pub detach: bool,
    pub keep: bool,
}

/// Returns the exit code skiff should exit with.
pub fn run(root: &Root, opts: &RunOptions) -> Result<i32> {
    if opts.detach {
        let created = create_container(
            root,
            &opts.create,
            TerminalMode::SocketRequired,
            StartBy::Runtime,
        )?;
        let state = start_created(&created);
        return match state {
            Ok(state) => {
                drop(created.dir);
                super::start::run_poststart(&state);
                Ok(0)
            }
            Err(e) => {
                let _ = super::delete::destroy(created.dir, &created.state);
                Err(e)
            }
        };
    }
    // Signals arriving from now on queue up for the signalfd below; the init unblocks
    // them for the container process before exec.
    let old_mask = signals::block_all();
    let result = run_foreground(root, opts);
    signals::set_mask(&old_mask);
    result
}

fn run_foreground(root: &Root, opts: &RunOptions) -> Result<i32> {
    let created = create_container(
        root,
        &opts.create,
        TerminalMode::RuntimeMayHold,
        StartBy::Runtime,
    )?;
    let state = match start_created(&created) {
        Ok(state) => state,
        Err(e) => {
            let _ = super::delete::destroy(created.dir, &created.state);
            return Err(e);
        }
    };
    // Other commands (kill, delete --force from another shell) must not wait for us.
    drop(created.dir);
    super::start::run_poststart(&state);
    let code = wait_foreground(state.pid, &created.pidfd, created.console_master);
    if code.is_err() {
        let _ = clone::pidfd_send_signal(&created.pidfd, libc::SIGKILL);
        let _ = clone::wait_exit_code(state.pid);
    }
    if !opts.keep {
        let mut stopped = state.clone();
        stopped.status = crate::state::Status::Stopped;
        match root.open_locked(&state.id) {
            Ok(dir) => super::delete::destroy(dir, &stopped)?,
            // Deleted meanwhile (delete --force from elsewhere): nothing left to do.
            Err(crate::state::StateError::NotExist) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let code = code?;
    Ok(code)
}

fn start_created(created: &super::create::Created) -> Result<crate::state::ContainerState> {
    match &created.channel {
        Some(ch) => super::start::release_over_channel(&created.dir, created.state.clone(), ch),
        None => super::start::release(&created.dir, created.state.clone()),
    }
}

fn signalfd() -> Result<OwnedFd> {
    // SAFETY: sigset_t is plain data; signalfd returns a new fd or -1.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        let fd = libc::signalfd(-1, &all, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(sys("signalfd")(std::io::Error::last_os_error()));
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Waits for the init, forwarding signals to it and relaying the pty when skiff holds it.
fn wait_foreground(pid: i32, pidfd: &OwnedFd, master: Option<OwnedFd>) -> Result<i32> {
    let sfd = signalfd()?;
    let stdin = std::io::stdin();
    let stdin_fd = stdin.as_fd();
    let raw = master.as_ref().and_then(|_| tty::RawMode::enter(stdin_fd));
    if let (Some(m), true) = (&master, tty::is_terminal(stdin_fd)) {
        tty::copy_window_size(stdin_fd, m.as_fd());
    }
    let mut stdin_open = master.is_some();
    let mut master_open = master.is_some();
    let mut exit_code = None;
    loop {
        if let Some(code) = exit_code {
            if !master_open {
                drop(raw);
                return Ok(code);
            }
        }
        let mut fds = vec![libc::pollfd {
            fd: sfd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(m) = master.as_ref().filter(|_| master_open) {
            fds.push(libc::pollfd {
                fd: m.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        if stdin_open {
            fds.push(libc::pollfd {
                fd: stdin_fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // Once the process has exited, only drain what the pty still holds.
        let timeout = if exit_code.is_some() { 50 } else { -1 };
        // SAFETY: poll on a vector of valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(sys("poll")(err));
        }
        if n == 0 {
            master_open = false;
            continue;
        }
        for p in &fds {
            if p.revents == 0 {
                continue;
            }
            if p.fd == sfd.as_raw_fd() {
                for sig in read_signals(sfd.as_fd()) {
                    match sig {
                        libc::SIGCHLD => {
                            if exit_code.is_none() {
                                exit_code = clone::try_reap(pid);
                            }
                        }
                        libc::SIGWINCH => {
                            if let Some(m) = &master {
                                tty::copy_window_size(stdin_fd, m.as_fd());
                            }
                        }
                        sig => {
                            let _ = clone::pidfd_send_signal(pidfd, sig);
                        }
                    }
                }
            } else if Some(p.fd) == master.as_ref().map(|m| m.as_raw_fd()) {
                if !copy(p.fd, libc::STDOUT_FILENO) {
                    master_open = false;
                }
            } else if p.fd == stdin_fd.as_raw_fd()
                && !copy(p.fd, master.as_ref().map_or(-1, |m| m.as_raw_fd()))
            {
                stdin_open = false;
            }
        }
        if exit_code.is_none() {
            exit_code = clone::try_reap(pid);
        }
    }
}

fn read_signals(sfd: BorrowedFd) -> Vec<i32> {
    let mut out = Vec::new();
    let mut f = std::mem::ManuallyDrop::new(
        // SAFETY: a File view of the signalfd we keep owning (ManuallyDrop: never closed here).
        unsafe { std::fs::File::from_raw_fd(sfd.as_raw_fd()) },
    );
    let mut buf = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    while let Ok(n) = f.read(&mut buf) {
        if n < buf.len() {
            break;
        }
        let signo = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
        out.push(signo as i32);
    }
    out
}

/// Copies what is readable on `from` to `to`; false at EOF or error.
fn copy(from: i32, to: i32) -> bool {
    let mut buf = [0u8; 8192];
    // SAFETY: read into a buffer we own.
    let n = unsafe { libc::read(from, buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR);
    }
    let mut out = std::mem::ManuallyDrop::new(
        // SAFETY: a File view of an fd owned elsewhere, never closed here.
        unsafe { std::fs::File::from_raw_fd(to) },
    );
    out.write_all(&buf[..n as usize]).is_ok()
}
