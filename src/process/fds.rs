//! File descriptors the container process inherits: 0-2, `$LISTEN_FDS` fds (socket
//! activation) and `--preserve-fds N`; everything else is closed on exec.

use super::{ProcessError, Result};

/// How many fds above stdio the container keeps: LISTEN_FDS first, then --preserve-fds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Passed {
    pub listen_fds: u32,
    pub preserve_fds: u32,
}

impl Passed {
    pub fn from_env(preserve_fds: u32) -> Passed {
        let listen_fds = std::env::var("LISTEN_FDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Passed {
            listen_fds,
            preserve_fds,
        }
    }

    pub fn count(&self) -> u32 {
        self.listen_fds + self.preserve_fds
    }

    /// Checks that every passed fd is open now, before skiff opens fds of its own that
    /// could otherwise land in the range and be handed to the container.
    pub fn check_open(&self) -> Result<()> {
        for fd in 3..3 + self.count() as i32 {
            // SAFETY: F_GETFD only queries the fd.
            if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
                return Err(ProcessError::Config {
                    field: "--preserve-fds".into(),
                    msg: format!(
                        "fd {fd} is not open (stdio + {} LISTEN_FDS + {} preserved)",
                        self.listen_fds, self.preserve_fds
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Marks every fd above the passed ones close-on-exec and clears the flag on the passed
/// ones (CVE-2024-21626: a leaked fd to a host directory escapes the rootfs).
pub fn prepare_for_exec(passed: &Passed) -> Result<()> {
    let first_closed = 3 + passed.count();
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags, closes nothing.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first_closed,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        cloexec_by_walking(first_closed as i32)?;
    }
    for fd in 3..first_closed as i32 {
        // SAFETY: F_SETFD on an fd checked open at startup.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } != 0 {
            return Err(ProcessError::Sys {
                what: format!("keep fd {fd} open"),
                source: std::io::Error::last_os_error(),
            });
        }
    }
    Ok(())
}

/// Fallback for kernels without CLOSE_RANGE_CLOEXEC (< 5.11).
fn cloexec_by_walking(from: i32) -> Result<()> {
    let entries = std::fs::read_dir("/proc/self/fd").map_err(super::sys("read /proc/self/fd"))?;
    let fds: Vec<i32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in fds.into_iter().filter(|&fd| fd >= from) {
        // SAFETY: F_SETFD on an fd number; a closed one fails harmlessly.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// Closes every fd from 3 up except the passed ones and `keep` (the init's own: sync
/// channel, barrier socket, namespace fds, ...). The init does this first: it is a copy of
/// the runtime and would otherwise hold the state-dir lock, and any fd the caller leaked
/// to us (a pipe the caller waits on), for as long as the container exists.
pub fn close_all_except(passed: &Passed, keep: &[i32]) {
    let first = 3 + passed.count() as i32;
    let mut keep: Vec<i32> = keep.iter().copied().filter(|&fd| fd >= first).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut lo = first;
    for fd in keep.into_iter().chain(std::iter::once(i32::MAX)) {
        if fd > lo {
            let hi = if fd == i32::MAX {
                u32::MAX
            } else {
                (fd - 1) as u32
            };
            // SAFETY: close_range on fds of this process that nothing here uses any more.
            unsafe { libc::syscall(libc::SYS_close_range, lo as u32, hi, 0) };
        }
        lo = fd.saturating_add(1);
    }
}
