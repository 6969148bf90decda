//! Loading a compiled [`Filter`] with seccomp(2).

use super::{Filter, SeccompError, FLAG_NEW_LISTENER, FLAG_TSYNC, FLAG_TSYNC_ESRCH};
use std::os::fd::{FromRawFd, OwnedFd};

const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;

impl Filter {
    /// Installs the filter on the calling thread with
    /// `seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog)`. The caller has set
    /// no_new_privs or holds CAP_SYS_ADMIN. Returns the user-notification listener fd
    /// when the profile uses SCMP_ACT_NOTIFY (SECCOMP_FILTER_FLAG_NEW_LISTENER); it is
    /// close-on-exec, as the kernel creates it.
    pub fn install(&self) -> Result<Option<OwnedFd>, SeccompError> {
        let err = |source: std::io::Error| {
            let hint = match source.raw_os_error() {
                Some(libc::EACCES) => " (needs no_new_privs or CAP_SYS_ADMIN)",
                Some(libc::EINVAL) => " (flag or action not supported by this kernel?)",
                _ => "",
            };
            SeccompError::Install {
                flags: self.flags,
                source,
                hint,
            }
        };
        let prog = libc::sock_fprog {
            len: u16::try_from(self.program.len())
                .map_err(|_| SeccompError::TooLarge(self.program.len()))?,
            filter: self.program.as_ptr().cast_mut(),
        };
        // SAFETY: `prog` points at `self.program`, which outlives the call; the kernel
        // copies the program and does not keep the pointer.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                libc::c_ulong::from(self.flags),
                &prog as *const libc::sock_fprog,
            )
        };
        if ret < 0 {
            return Err(err(std::io::Error::last_os_error()));
        }
        if self.flags & FLAG_NEW_LISTENER != 0 {
            let fd = i32::try_from(ret).map_err(|_| err(std::io::Error::other("bad fd")))?;
            // SAFETY: with NEW_LISTENER, a non-negative return is a new fd we own.
            return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        if ret > 0 && self.flags & FLAG_TSYNC != 0 && self.flags & FLAG_TSYNC_ESRCH == 0 {
            // TSYNC reports the first thread it could not synchronize.
            return Err(err(std::io::Error::other(format!(
                "thread {ret} could not be synchronized (TSYNC)"
            ))));
        }
        Ok(None)
    }
}
