//! `kill`: send a signal to the init, or to every process of the container.

use super::{sys, Error, Result};
use crate::process::clone;
use crate::state::{ContainerState, ProcessLiveness, Root, Status};

pub fn kill(root: &Root, id: &str, signal: &str, all: bool) -> Result<()> {
    let sig = crate::process::signals::parse(signal)
        .ok_or_else(|| Error::Msg(format!("invalid signal {signal:?}")))?;
    let dir = root.open(id)?;
    let state = dir.load()?;
    if dir.live_status(&state) == Status::Stopped {
        return Err(Error::Msg("container not running".into()));
    }
    if all {
        signal_all(&state, sig)
    } else {
        signal_init(&state, sig)
    }
}

/// Signals the init through a pidfd opened and then checked to still be the init (same
/// start time), so a reused pid never gets the signal.
pub(crate) fn signal_init(state: &ContainerState, sig: i32) -> Result<()> {
    let pidfd = match clone::pidfd_open(state.pid) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
            return Err(Error::Msg("container not running".into()))
        }
        Err(e) => return Err(sys(format!("pidfd_open {}", state.pid))(e)),
    };
    if ProcessLiveness::check(state.pid, state.init_start_time) != ProcessLiveness::Alive {
        return Err(Error::Msg("container not running".into()));
    }
    clone::pidfd_send_signal(&pidfd, sig).map_err(|e| {
        if e.raw_os_error() == Some(libc::ESRCH) {
            Error::Msg("container not running".into())
        } else {
            sys(format!("signal {sig} to pid {}", state.pid))(e)
        }
    })
}

/// Every process in the container's cgroup, frozen first so none can fork away, then
/// thawed (SIGKILL is only acted on by running tasks).
pub(crate) fn signal_all(state: &ContainerState, sig: i32) -> Result<()> {
    let frozen = crate::cgroups::set_frozen(&state.cgroup, true).is_ok();
    let pids = crate::cgroups::processes(&state.cgroup);
    let result = pids.map_err(Error::from).map(|pids| {
        for pid in pids {
            // SAFETY: kill with plain integers; the cgroup is frozen, so these pids
            // cannot exit and be reused while we signal them.
            unsafe { libc::kill(pid, sig) };
        }
    });
    if frozen {
        let _ = crate::cgroups::set_frozen(&state.cgroup, false);
    }
    result
}
