//! `start`: release the init from the created→running barrier.

use super::{create::state_json, sys, Error, Result, EXEC_SOCK};
use crate::state::{Container, ContainerState, Root, Status};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

pub fn start(root: &Root, id: &str) -> Result<()> {
    let dir = root.open_locked(id)?;
    let state = dir.load()?;
    let state = release(&dir, state)?;
    drop(dir);
    run_poststart(&state);
    Ok(())
}

/// Connects to the init's barrier socket and waits for the exec. The init closes the
/// connection by exec'ing (it is close-on-exec), or writes why it could not.
pub(crate) fn release(dir: &Container, mut state: ContainerState) -> Result<ContainerState> {
    match dir.live_status(&state) {
        Status::Created => {}
        Status::Stopped => {
            return Err(Error::Msg(
                "cannot start a container that has stopped".into(),
            ))
        }
        other => {
            return Err(Error::Msg(format!(
            "cannot start a container that is {other} (only a created container can be started)"
        )))
        }
    }
    if !state.has_process {
        return Err(Error::Msg(
            "cannot start the container: config.json has no process".into(),
        ));
    }
    let sock = dir.dir.join(EXEC_SOCK);
    let fd = match super::unix::connect(&sock) {
        Ok(fd) => fd,
        // The init is gone since we looked (ECONNREFUSED): it has stopped.
        Err(e) => {
            return Err(Error::Msg(format!(
                "cannot start the container: the init is not waiting ({e})"
            )))
        }
    };
    let mut conn = std::fs::File::from(fd);
    let mut created = state.clone();
    created.status = Status::Created;
    conn.write_all(state_json(&created).as_bytes())
        .map_err(sys("send start request"))?;
    nix::sys::socket::shutdown(conn.as_raw_fd(), nix::sys::socket::Shutdown::Write)
        .map_err(|e| sys("shutdown")(e.into()))?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply)
        .map_err(sys("wait for the container process to start"))?;
    if !reply.is_empty() {
        return Err(Error::Msg(reply));
    }
    state.status = Status::Running;
    dir.save(&state)?;
    let _ = std::fs::remove_file(&sock);
    Ok(state)
}

/// `run`'s start: the init waits on the sync channel instead of a socket. It closes the
/// channel by exec'ing (close-on-exec), or sends why it could not.
pub(crate) fn release_over_channel(
    dir: &Container,
    mut state: ContainerState,
    channel: &crate::process::sync::Channel,
) -> Result<ContainerState> {
    use crate::process::sync::Msg;
    let mut created = state.clone();
    created.status = Status::Created;
    channel
        .send(&Msg::Start(state_json(&created)))
        .map_err(sys("send start request"))?;
    match channel
        .recv()
        .map_err(sys("wait for the container process to start"))?
    {
        None => {}
        Some((Msg::Error(msg), _)) => return Err(Error::Msg(msg)),
        Some((other, _)) => {
            return Err(Error::Msg(format!(
                "unexpected message from the container init: {other:?}"
            )))
        }
    }
    state.status = Status::Running;
    dir.save(&state)?;
    Ok(state)
}

/// poststart hooks: after the process started, before `start` returns. A failure is a
/// warning (runtime-spec: the container keeps running).
pub(crate) fn run_poststart(state: &ContainerState) {
    let hooks = crate::hooks::stage(state.hooks.as_ref(), "poststart");
    if !hooks.is_empty() {
        crate::hooks::run_warn_only("poststart", hooks, &state_json(state));
    }
}
