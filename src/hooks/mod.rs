//! OCI hooks: prestart, createRuntime and createContainer (during create),
//! startContainer (in the init, right before exec), poststart (start), poststop (delete).
//!
//! Each hook gets the container's state JSON on stdin. Its output is captured (a hook
//! must never keep the caller's stdout/stderr open after skiff exits) and shown in the
//! error when it fails. `timeout` kills it. Only the hook process itself is waited for:
//! a daemon it leaves behind does not hang skiff.

use oci_spec::runtime::{Hook, Hooks};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("hooks.{stage}[{index}] ({path}): {what}: {source}")]
    Spawn {
        stage: &'static str,
        index: usize,
        path: String,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("hooks.{stage}[{index}] ({path}): {status}{output}")]
    Failed {
        stage: &'static str,
        index: usize,
        path: String,
        status: String,
        output: String,
    },
}

pub type Result<T> = std::result::Result<T, HookError>;

/// Every hook list of the config with its JSON name, in spec order.
#[allow(deprecated)]
pub fn all(hooks: &Hooks) -> Vec<(&'static str, &Vec<Hook>)> {
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    lists
        .into_iter()
        .filter_map(|(n, l)| l.as_ref().map(|l| (n, l)))
        .collect()
}

/// The hooks of one stage (empty when none are configured).
pub fn stage<'a>(hooks: Option<&'a Hooks>, name: &str) -> &'a [Hook] {
    hooks
        .map(all)
        .and_then(|lists| {
            lists
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, l)| l.as_slice())
        })
        .unwrap_or(&[])
}

/// Runs the hooks of `stage` in order; the first failure stops the rest.
pub fn run(stage: &'static str, hooks: &[Hook], state_json: &str) -> Result<()> {
    for (index, hook) in hooks.iter().enumerate() {
        run_one(stage, index, hook, state_json)?;
    }
    Ok(())
}

/// Runs every hook of `stage`, logging each failure as a warning: for poststart and
/// poststop the runtime-spec says the remaining hooks and the lifecycle continue as if
/// the hook had succeeded.
pub fn run_warn_only(stage: &'static str, hooks: &[Hook], state_json: &str) {
    for (index, hook) in hooks.iter().enumerate() {
        if let Err(e) = run_one(stage, index, hook, state_json) {
            log::warn!("{e}");
        }
    }
}

fn run_one(stage: &'static str, index: usize, hook: &Hook, state: &str) -> Result<()> {
    let path = hook.path().display().to_string();
    let spawn_err = |what, source| HookError::Spawn {
        stage,
        index,
        path: path.clone(),
        what,
        source,
    };
    let mut cmd = Command::new(hook.path());
    if let Some(args) = hook.args() {
        if let Some(first) = args.first() {
            cmd.arg0(first);
        }
        cmd.args(args.iter().skip(1));
    }
    if let Some(env) = hook.env() {
        cmd.env_clear();
        for kv in env {
            if let Some((k, v)) = kv.split_once('=') {
                cmd.env(k, v);
            }
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| spawn_err("start", e))?;
    let deadline = hook
        .timeout()
        .map(|t| Instant::now() + Duration::from_secs(t.max(1) as u64));
    let pidfd = crate::process::clone::pidfd_open(child.id() as i32)
        .map_err(|e| spawn_err("pidfd_open", e))?;

    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    for pipe in [
        stdout.as_ref().map(|p| p.as_raw_fd()),
        stderr.as_ref().map(|p| p.as_raw_fd()),
        stdin.as_ref().map(|p| p.as_raw_fd()),
    ]
    .into_iter()
    .flatten()
    {
        set_nonblocking(pipe);
    }
    let mut written = 0;
    let mut output = Vec::new();
    let mut timed_out = false;
    loop {
        let mut fds = vec![libc::pollfd {
            fd: pidfd.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        if let Some(p) = &stdin {
            fds.push(libc::pollfd {
                fd: p.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            });
        }
        for p in [
            stdout.as_ref().map(|p| p.as_raw_fd()),
            stderr.as_ref().map(|p| p.as_raw_fd()),
        ]
        .into_iter()
        .flatten()
        {
            fds.push(libc::pollfd {
                fd: p,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let wait_ms = deadline.map_or(-1, |d| {
            d.saturating_duration_since(Instant::now())
                .as_millis()
                .min(i32::MAX as u128) as i32
        });
        // SAFETY: poll on a vector of valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, wait_ms) };
        if n == 0 {
            timed_out = true;
            let _ = crate::process::clone::pidfd_send_signal(&pidfd, libc::SIGKILL);
            break;
        }
        if let Some(p) = stdin.as_mut() {
            match p.write(&state.as_bytes()[written..]) {
                Ok(k) => written += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // The hook does not read its stdin (EPIPE): that is its business.
                Err(_) => written = state.len(),
            }
            if written >= state.len() {
                stdin = None;
            }
        }
        drain(&mut stdout, &mut output);
        drain(&mut stderr, &mut output);
        if fds[0].revents & libc::POLLIN != 0 {
            break;
        }
    }
    drop(stdin);
    let status = child.wait().map_err(|e| spawn_err("wait", e))?;
    drain(&mut stdout, &mut output);
    drain(&mut stderr, &mut output);
    let output = String::from_utf8_lossy(&output).trim().to_string();
    let shown = if output.is_empty() {
        String::new()
    } else {
        format!(": {output}")
    };
    if timed_out {
        return Err(HookError::Failed {
            stage,
            index,
            path,
            status: format!("timed out after {}s", hook.timeout().unwrap_or(0)),
            output: shown,
        });
    }
    if !status.success() {
        return Err(HookError::Failed {
            stage,
            index,
            path,
            status: status.to_string(),
            output: shown,
        });
    }
    Ok(())
}

fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl flag changes on pipe fds we own.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
}

/// Reads what is available now; drops the pipe at EOF.
fn drain<R: Read>(pipe: &mut Option<R>, out: &mut Vec<u8>) {
    let Some(p) = pipe.as_mut() else { return };
    let mut buf = [0u8; 4096];
    loop {
        match p.read(&mut buf) {
            Ok(0) => {
                *pipe = None;
                return;
            }
            Ok(n) => {
                if out.len() < 64 * 1024 {
                    out.extend_from_slice(&buf[..n]);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}
