//! `create`: everything up to the created→running barrier.
//!
//! The sequence reads top to bottom: parse → validate → state → cgroup → clone →
//! (in the init: namespaces → mounts → pivot → process attributes) → barrier. Whatever
//! fails after the state dir exists is undone by [`Teardown`]: the init is killed and
//! reaped, its cgroup and state dir removed.

use super::{sys, Error, Result, EXEC_SOCK};
use crate::cgroups::{self, CgroupPaths, DeviceRule, Layout};
use crate::namespaces::{self, Plan};
use crate::process::clone::{self, Forked};
use crate::process::fds::Passed;
use crate::process::init::{self, ConsoleTarget, InitConfig};
use crate::process::sync::{Channel, Msg};
use crate::spec::{self, Bundle};
use crate::state::{self, Container, ContainerState, Root, Status};
use oci_spec::runtime::LinuxNamespaceType as Ns;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub id: String,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
}

/// A created container, for `run` to continue with.
pub struct Created {
    pub state: ContainerState,
    pub dir: Container,
    pub pidfd: OwnedFd,
    /// The pty master, when the runtime holds it (`run` without a console socket).
    pub console_master: Option<OwnedFd>,
    /// The sync channel, when the runtime starts the container itself
    /// ([`StartBy::Runtime`]).
    pub channel: Option<Channel>,
}

/// Who releases the init from the created→running barrier.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StartBy {
    /// A later `skiff start`, through `<state dir>/exec.sock`.
    Socket,
    /// This process (`run`), over the sync channel: no socket needed.
    Runtime,
}

/// How the terminal is handled: `create` needs a console socket; foreground `run` may
/// hold the pty itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TerminalMode {
    SocketRequired,
    RuntimeMayHold,
}

pub fn create(root: &Root, opts: &CreateOptions) -> Result<()> {
    let created = create_container(root, opts, TerminalMode::SocketRequired, StartBy::Socket)?;
    drop(created);
    Ok(())
}

/// Undoes a half-made container unless disarmed.
struct Teardown {
    dir: Option<Container>,
    cgroup: CgroupPaths,
    /// Processes to kill and reap (the init; the intermediate of the slow path).
    children: Vec<(i32, Option<OwnedFd>)>,
    rootfs_in_host_ns: Option<PathBuf>,
}

impl Teardown {
    /// Keeps everything: returns the (still locked) state dir.
    fn disarm(mut self) -> Option<Container> {
        self.children.clear();
        self.cgroup = CgroupPaths::None;
        self.rootfs_in_host_ns = None;
        self.dir.take()
    }
}

impl Drop for Teardown {
    fn drop(&mut self) {
        for (pid, pidfd) in self.children.drain(..) {
            match &pidfd {
                Some(fd) => {
                    let _ = clone::pidfd_send_signal(fd, libc::SIGKILL);
                }
                // SAFETY: kill of our own unreaped child (its pid cannot be reused yet).
                None => unsafe {
                    libc::kill(pid, libc::SIGKILL);
                },
            }
            let _ = clone::wait_exit_code(pid);
        }
        if let Some(rootfs) = self.rootfs_in_host_ns.take() {
            super::delete::unmount_under(&rootfs);
        }
        let _ = cgroups::destroy(&self.cgroup);
        if let Some(dir) = self.dir.take() {
            let _ = dir.remove();
        }
    }
}

pub(crate) fn create_container(
    root: &Root,
    opts: &CreateOptions,
    terminal: TerminalMode,
    start_by: StartBy,
) -> Result<Created> {
    // parse → validate: nothing exists yet, so errors here leave nothing behind.
    state::validate_id(&opts.id)?;
    if opts.systemd_cgroup {
        return Err(cgroups::CgroupError::Systemd.into());
    }
    let passed = Passed::from_env(opts.preserve_fds);
    passed.check_open()?;
    let bundle = spec::load(&opts.bundle)?;
    let spec = &bundle.spec;
    let wants_terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    if wants_terminal && opts.console_socket.is_none() && terminal == TerminalMode::SocketRequired {
        return Err(Error::Msg("process.terminal: a terminal needs --console-socket (skiff would exit and leave nobody holding the pty)".into()));
    }
    check_lsm_labels(spec)?;
    let seccomp_spec = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let seccomp = seccomp_spec.map(crate::seccomp::compile).transpose()?;
    let seccomp_listener = match (
        &seccomp,
        seccomp_spec.and_then(|s| s.listener_path().as_ref()),
    ) {
        (Some(f), Some(path)) if f.needs_listener() => {
            Some(super::unix::connect(path).map_err(sys(format!(
                "linux.seccomp.listenerPath: connect {}",
                path.display()
            )))?)
        }
        (Some(f), None) if f.needs_listener() => {
            return Err(Error::Msg(
                "linux.seccomp.listenerPath: required by SCMP_ACT_NOTIFY".into(),
            ));
        }
        _ => None,
    };
    let plan = Plan::from_spec(spec)?;
    let idmapped = crate::rootfs::idmap::prepare(spec, &bundle.dir)?;

    // state: the dir is the lock and the record; from here on, failures tear down.
    let dir = root.create(&opts.id)?;
    let mut teardown = Teardown {
        dir: Some(dir),
        cgroup: CgroupPaths::None,
        children: Vec::new(),
        rootfs_in_host_ns: None,
    };

    // cgroup
    let layout = Layout::detect()?;
    let cgroups_path = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
    let mut cgroup = cgroups::resolve(&layout, cgroups_path.as_deref(), &opts.id)?;
    cgroups::create(&mut cgroup)?;
    teardown.cgroup = cgroup.clone();
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    cgroups::apply_resources(&cgroup, resources, &device_rules(spec))?;

    // The barrier socket and the console connection exist before the clone, so the init
    // (maybe in a user namespace that may not write here) simply inherits them.
    let state_dir = teardown
        .dir
        .as_ref()
        .map(|d| d.dir.clone())
        .unwrap_or_default();
    let exec_listener = match start_by {
        StartBy::Socket => {
            let sock = state_dir.join(EXEC_SOCK);
            Some(super::unix::listen(&sock).map_err(sys(format!("listen on {}", sock.display())))?)
        }
        StartBy::Runtime => None,
    };
    let console = match (&opts.console_socket, wants_terminal) {
        (Some(path), true) => ConsoleTarget::Socket(crate::process::console::connect_socket(path)?),
        (None, true) => ConsoleTarget::Runtime,
        _ => ConsoleTarget::None,
    };
    let (runtime_end, init_end) = Channel::pair().map_err(sys("socketpair"))?;

    // clone
    let slow_path = plan.joins(Ns::User)
        || (plan.is_new(Ns::User)
            && plan
                .join
                .iter()
                .any(|j| !matches!(j.typ, Ns::Pid | Ns::Time)));
    let mut flags: u64 = 0;
    if !slow_path {
        for t in [Ns::User, Ns::Pid, Ns::Mount, Ns::Network, Ns::Ipc, Ns::Uts] {
            if plan.is_new(t) {
                flags |= namespaces::clone_flag(t) as u64;
            }
        }
    }
    let saved_time = if plan.is_new(Ns::Time) {
        let saved = namespaces::save_current("time_for_children")?;
        namespaces::unshare(libc::CLONE_NEWTIME, "time namespace")?;
        namespaces::write_time_offsets(spec)?;
        Some(saved)
    } else if let Some(join) = plan.join.iter().find(|j| j.typ == Ns::Time) {
        let saved = namespaces::save_current("time_for_children")?;
        namespaces::setns(join)?;
        Some(saved)
    } else {
        None
    };
    // PID and time namespaces given by path apply to children only: enter them for the
    // clone and leave them right after.
    let saved_pid = match plan.join.iter().find(|j| j.typ == Ns::Pid) {
        Some(join) => {
            let saved = namespaces::save_current("pid_for_children")?;
            namespaces::setns(join)?;
            Some(saved)
        }
        None => None,
    };
    // The init is visible to the container from its first instruction: make it (and,
    // inherited, everything it forks) non-dumpable before the clone, so no container
    // process can open /proc/<pid>/{exe,mem,fd} of it (CVE-2019-5736).
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let forked = clone::clone3(flags, None);
    if !matches!(forked, Ok(Forked::Child)) {
        // Back to our own pid/time namespace for future children (hooks).
        if let Some(saved) = saved_pid {
            namespaces::restore(Ns::Pid, saved)?;
        }
        if let Some(saved) = saved_time {
            namespaces::restore(Ns::Time, saved)?;
        }
    }
    // The child never comes back from this match: it must not run any of our code.
    let (pid, pidfd) = match forked {
        Ok(Forked::Child) => {
            drop(runtime_end);
            let mut cfg = InitConfig {
                bundle: &bundle,
                plan,
                slow_path,
                channel: init_end,
                exec_listener,
                console,
                cgroup: &cgroup,
                no_pivot: opts.no_pivot,
                no_new_keyring: opts.no_new_keyring,
                passed,
                idmapped,
                container_id: &opts.id,
                seccomp,
                seccomp_listener,
            };
            init::run(&mut cfg)
        }
        Ok(Forked::Parent { pid, pidfd }) => (pid, pidfd),
        Err(e) => return Err(sys("clone the container init")(e)),
    };
    teardown.children.push((pid, None));
    drop((init_end, exec_listener, console, idmapped));
    if !plan.has(Ns::Mount) {
        teardown.rootfs_in_host_ns = Some(bundle.rootfs.clone());
    }

    // A step here failing because the init died reports the init's own error instead.
    let (pid, pidfd, mut state, console_master) = drive_init(
        &runtime_end,
        &mut teardown,
        Started {
            opts,
            bundle: &bundle,
            cgroup: &cgroup,
            plan: &plan,
            slow_path,
            pid,
            pidfd,
        },
    )
    .map_err(|e| runtime_end.pending_error().map_or(e, Error::Msg))?;

    state.status = Status::Created;
    if let Some(dir) = &teardown.dir {
        dir.save(&state)?;
    }
    if let Some(pid_file) = &opts.pid_file {
        write_pid_file(pid_file, pid)?;
    }
    let dir = teardown
        .disarm()
        .ok_or_else(|| Error::Msg("state dir missing".into()))?;
    let channel = (start_by == StartBy::Runtime).then_some(runtime_end);
    Ok(Created {
        state,
        dir,
        pidfd,
        console_master,
        channel,
    })
}

/// The init just cloned, as `drive_init` gets it.
struct Started<'a> {
    opts: &'a CreateOptions,
    bundle: &'a Bundle,
    cgroup: &'a CgroupPaths,
    plan: &'a Plan,
    slow_path: bool,
    pid: i32,
    pidfd: OwnedFd,
}

/// The runtime's side of the init's setup: maps, cgroup, the state for hooks, the hooks
/// that run in the runtime's namespaces, until the init reports it is ready. Returns the
/// init's pid and pidfd (the real init's, on the slow path), its state and the pty master
/// if the init sent one.
fn drive_init(
    runtime_end: &Channel,
    teardown: &mut Teardown,
    started: Started,
) -> Result<(i32, OwnedFd, ContainerState, Option<OwnedFd>)> {
    let Started {
        opts,
        bundle,
        cgroup,
        plan,
        slow_path,
        mut pid,
        mut pidfd,
    } = started;
    let spec = &bundle.spec;
    if plan.is_new(Ns::User) && !slow_path {
        namespaces::write_id_maps(spec, pid)?;
    }
    cgroups::add_process(cgroup, pid)?;
    let mut state = new_state(opts, bundle, cgroup, plan, pid)?;
    if slow_path {
        runtime_end
            .send(&Msg::Go(None))
            .map_err(sys("sync with init"))?;
    } else {
        runtime_end
            .send(&Msg::Go(Some(state_json(&state))))
            .map_err(sys("sync with init"))?;
    }

    let mut console_master = None;
    loop {
        let msg = runtime_end.recv().map_err(sys("sync with init"))?;
        match msg {
            Some((Msg::MapsNeeded, _)) => {
                namespaces::write_id_maps(spec, pid)?;
                runtime_end
                    .send(&Msg::Go(None))
                    .map_err(sys("sync with init"))?;
            }
            Some((Msg::InitForked, Some(fd))) => {
                let intermediate = pid;
                let code = clone::wait_exit_code(intermediate)
                    .map_err(sys("wait for the intermediate process"))?;
                teardown.children.retain(|(p, _)| *p != intermediate);
                if code != 0 {
                    return Err(Error::Msg(format!(
                        "container init setup exited with status {code}"
                    )));
                }
                pid = pid_of_pidfd(&fd).ok_or_else(|| {
                    Error::Msg("cannot read the pid of the container init".into())
                })?;
                pidfd = fd;
                teardown.children.push((pid, None));
                state = new_state(opts, bundle, cgroup, plan, pid)?;
                runtime_end
                    .send(&Msg::Go(Some(state_json(&state))))
                    .map_err(sys("sync with init"))?;
            }
            Some((Msg::RunRuntimeHooks, _)) => {
                let hooks = spec.hooks().as_ref();
                let json = state_json(&state);
                crate::hooks::run("prestart", crate::hooks::stage(hooks, "prestart"), &json)?;
                crate::hooks::run(
                    "createRuntime",
                    crate::hooks::stage(hooks, "createRuntime"),
                    &json,
                )?;
                runtime_end
                    .send(&Msg::Go(None))
                    .map_err(sys("sync with init"))?;
            }
            Some((Msg::ConsoleMaster, fd)) => console_master = fd,
            Some((Msg::Ready, _)) => break,
            Some((Msg::Error(msg), _)) => return Err(Error::Msg(msg)),
            Some((other, _)) => {
                return Err(Error::Msg(format!(
                    "unexpected message from the container init: {other:?}"
                )))
            }
            None => {
                let code = clone::try_reap(pid);
                teardown
                    .children
                    .retain(|(p, _)| Some(*p) != code.map(|_| pid));
                return Err(Error::Msg(match code {
                    Some(c) => format!("container init exited during setup (status {c})"),
                    None => "container init closed the sync channel during setup".into(),
                }));
            }
        }
    }

    Ok((pid, pidfd, state, console_master))
}

fn new_state(
    opts: &CreateOptions,
    bundle: &Bundle,
    cgroup: &CgroupPaths,
    plan: &Plan,
    pid: i32,
) -> Result<ContainerState> {
    let start = state::process_start_time(pid)
        .ok_or_else(|| Error::Msg(format!("container init (pid {pid}) vanished")))?;
    let spec = &bundle.spec;
    Ok(ContainerState {
        oci_version: spec.version().clone(),
        id: opts.id.clone(),
        status: Status::Creating,
        pid,
        bundle: bundle.dir.clone(),
        rootfs: bundle.rootfs.clone(),
        created: crate::logging::rfc3339_now(),
        owner: super::owner(),
        annotations: spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        init_start_time: start,
        systemd_cgroup: opts.systemd_cgroup,
        cgroup: cgroup.clone(),
        own_pid_ns: plan.has(Ns::Pid),
        own_mount_ns: plan.has(Ns::Mount),
        has_process: spec.process().is_some(),
        hooks: spec.hooks().clone(),
    })
}

pub(crate) fn state_json(state: &ContainerState) -> String {
    state.oci_json(state.status).to_string()
}

/// The host pid behind a pidfd (its fdinfo is read in our own PID namespace).
fn pid_of_pidfd(fd: &OwnedFd) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
}

/// The config's device rules, then the defaults every container gets, then allow rules
/// for the config's `linux.devices` (runc does the same).
fn device_rules(spec: &spec::Spec) -> Vec<DeviceRule> {
    let linux = spec.linux().as_ref();
    let mut rules: Vec<DeviceRule> = linux
        .and_then(|l| l.resources().as_ref())
        .and_then(|r| r.devices().as_ref())
        .into_iter()
        .flatten()
        .map(DeviceRule::from_spec)
        .collect();
    rules.extend(cgroups::default_rules());
    for d in linux
        .and_then(|l| l.devices().as_ref())
        .into_iter()
        .flatten()
    {
        use oci_spec::runtime::LinuxDeviceType as T;
        let typ = match d.typ() {
            T::B => 'b',
            T::P => continue,
            _ => 'c',
        };
        rules.push(DeviceRule {
            allow: true,
            typ,
            major: Some(d.major()),
            minor: Some(d.minor()),
            access: "rwm".into(),
        });
    }
    rules
}

/// SELinux labels mean nothing on a host without SELinux (runc ignores them there too);
/// with SELinux enabled skiff cannot apply them yet and says so.
fn check_lsm_labels(spec: &spec::Spec) -> Result<()> {
    let process_label = spec
        .process()
        .as_ref()
        .and_then(|p| p.selinux_label().clone())
        .filter(|l| !l.is_empty());
    let mount_label = spec
        .linux()
        .as_ref()
        .and_then(|l| l.mount_label().clone())
        .filter(|l| !l.is_empty());
    if process_label.is_none() && mount_label.is_none() {
        return Ok(());
    }
    if crate::process::lsm::selinux_enabled() {
        let field = if process_label.is_some() {
            "process.selinuxLabel"
        } else {
            "linux.mountLabel"
        };
        return Err(Error::Msg(format!(
            "{field}: SELinux labels are not supported by skiff yet"
        )));
    }
    log::debug!("SELinux is not enabled on this host: process.selinuxLabel / linux.mountLabel have no effect");
    Ok(())
}

/// The pid file: decimal digits, no newline (go-runc parses it with Atoi), written
/// atomically.
fn write_pid_file(path: &std::path::Path, pid: i32) -> Result<()> {
    let path = std::path::absolute(path).map_err(sys(format!("--pid-file {}", path.display())))?;
    state::write_atomic(&path, pid.to_string().as_bytes(), 0o644)
        .map_err(sys(format!("--pid-file: write {}", path.display())))
}
