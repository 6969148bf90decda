//! `delete`: remove a stopped container (or, with --force, stop it first).

use super::{create::state_json, Error, Result};
use crate::process::clone;
use crate::state::{Container, ContainerState, Root, StateError, Status};
use std::path::Path;
use std::time::Duration;

pub fn delete(root: &Root, id: &str, force: bool) -> Result<()> {
    let dir = match root.open_locked(id) {
        Ok(d) => d,
        // containerd's cleanup deletes an already deleted container: fine with --force.
        Err(StateError::NotExist) if force => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let state = dir.load()?;
    match dir.live_status(&state) {
        Status::Stopped => {}
        status if force => stop(&state, status)?,
        status => {
            return Err(Error::Msg(format!(
                "cannot delete container {id} that is not stopped: {status}"
            )))
        }
    }
    destroy(dir, &state)
}

/// SIGKILLs the container and waits until its init is gone.
pub(crate) fn stop(state: &ContainerState, status: Status) -> Result<()> {
    let pidfd = clone::pidfd_open(state.pid).ok();
    if state.own_pid_ns {
        let _ = super::kill::signal_init(state, libc::SIGKILL);
    } else {
        super::kill::signal_all(state, libc::SIGKILL)?;
    }
    if status == Status::Paused {
        let _ = crate::cgroups::set_frozen(&state.cgroup, false);
    }
    if let Some(fd) = pidfd {
        if !clone::pidfd_wait_exit(&fd, Duration::from_secs(10)) {
            return Err(Error::Msg(format!(
                "container init (pid {}) did not die after SIGKILL",
                state.pid
            )));
        }
    }
    Ok(())
}

/// Removes what the container left: processes still in its cgroup, mounts it made in
/// the caller's namespace, the cgroup, the state dir; then runs poststop hooks.
pub(crate) fn destroy(dir: Container, state: &ContainerState) -> Result<()> {
    if !crate::cgroups::processes(&state.cgroup)
        .unwrap_or_default()
        .is_empty()
    {
        super::kill::signal_all(state, libc::SIGKILL)?;
        wait_cgroup_empty(state);
    }
    if !state.own_mount_ns {
        unmount_under(&state.rootfs);
    }
    crate::cgroups::destroy(&state.cgroup)?;
    dir.remove()?;
    let hooks = crate::hooks::stage(state.hooks.as_ref(), "poststop");
    if !hooks.is_empty() {
        let mut stopped = state.clone();
        stopped.status = Status::Stopped;
        crate::hooks::run_warn_only("poststop", hooks, &state_json(&stopped));
    }
    Ok(())
}

fn wait_cgroup_empty(state: &ContainerState) {
    for _ in 0..1000 {
        if crate::cgroups::processes(&state.cgroup).map_or(true, |p| p.is_empty()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Unmounts every mount below `rootfs` in our mount namespace, innermost first
/// (a container without a mount namespace mounted its /proc, /dev, ... there).
pub(crate) fn unmount_under(rootfs: &Path) {
    let mut points: Vec<String> = crate::rootfs::mountinfo::mount_points()
        .into_iter()
        .filter(|mp| Path::new(mp).starts_with(rootfs) && Path::new(mp) != rootfs)
        .collect();
    points.reverse();
    for mp in points {
        if let Ok(c) = std::ffi::CString::new(mp) {
            // SAFETY: umount2 with a valid C string.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}
