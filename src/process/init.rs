//! The container's init, from the clone to the execve. Runs in the child; everything
//! here either reaches `execve` or reports one error line to the runtime and exits.
//!
//! The order follows the runtime-spec and the kernel's rules: credentials and
//! capabilities are changed last, after everything that needs privileges, and the
//! working directory is checked before anything can be loaded that would deny getcwd.

use super::caps::{self, CapSets};
use super::console::{self, Pty};
use super::fds::{self, Passed};
use super::sync::{Channel, Msg};
use super::{exec, rlimits, signals, user, ProcessError, Result};
use crate::cgroups::CgroupPaths;
use crate::namespaces::{self, Plan};
use crate::rootfs::Rootfs;
use crate::spec::Bundle;
use oci_spec::runtime::{LinuxNamespaceType as Ns, Process};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

/// Where the pty master goes.
pub enum ConsoleTarget {
    None,
    /// The caller's --console-socket, connected by the runtime.
    Socket(OwnedFd),
    /// Back to the runtime over the sync channel (`run` in the foreground).
    Runtime,
}

/// Everything the init needs; built by the runtime before the clone. The init runs in a
/// copy of the runtime's memory, so this is shared by plain inheritance, fds included.
pub struct InitConfig<'a> {
    pub bundle: &'a Bundle,
    pub plan: Plan,
    /// The init sets its namespaces up itself (user namespace ordering; see mod.rs).
    pub slow_path: bool,
    pub channel: Channel,
    /// The created→running barrier: a listening socket at <state>/exec.sock for `start`;
    /// none when the runtime starts the container itself (`run`) over the channel.
    pub exec_listener: Option<OwnedFd>,
    pub console: ConsoleTarget,
    pub cgroup: &'a CgroupPaths,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub passed: Passed,
    pub idmapped: Vec<Option<OwnedFd>>,
    /// The compiled `linux.seccomp` filter.
    pub seccomp: Option<crate::seccomp::Filter>,
    /// Connection to `linux.seccomp.listenerPath`, for a filter with SCMP_ACT_NOTIFY.
    pub seccomp_listener: Option<OwnedFd>,
    pub container_id: &'a str,
}

/// Runs the init. Never returns.
pub fn run(cfg: &mut InitConfig) -> ! {
    close_inherited_fds(cfg);
    let mut barrier: Option<OwnedFd> = None;
    let err = match setup_and_exec(cfg, &mut barrier) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let msg = err.to_string();
    match barrier {
        // Past the barrier: `start` is waiting on the connection for the outcome.
        Some(conn) => {
            let _ = std::fs::File::from(conn).write_all(msg.as_bytes());
        }
        None => {
            let _ = cfg.channel.send(&Msg::Error(msg));
        }
    }
    // SAFETY: _exit skips atexit handlers and buffered-stdio flushing that belong to the
    // runtime's copy of this memory.
    unsafe { libc::_exit(1) }
}

fn close_inherited_fds(cfg: &InitConfig) {
    let mut keep = vec![cfg.channel.raw_fd()];
    keep.extend(cfg.exec_listener.as_ref().map(|fd| fd.as_raw_fd()));
    if let ConsoleTarget::Socket(fd) = &cfg.console {
        keep.push(fd.as_raw_fd());
    }
    keep.extend(cfg.plan.join.iter().map(|j| j.fd.as_raw_fd()));
    keep.extend(cfg.idmapped.iter().flatten().map(|fd| fd.as_raw_fd()));
    keep.extend(crate::logging::file_fd());
    keep.extend(cfg.seccomp_listener.as_ref().map(|fd| fd.as_raw_fd()));
    fds::close_all_except(&cfg.passed, &keep);
}

fn expect_go(ch: &Channel) -> Result<Option<String>> {
    match ch.recv().map_err(super::sys("sync with runtime"))? {
        Some((Msg::Go(state), _)) => Ok(state),
        // The runtime is gone or failed: nothing to report to.
        // SAFETY: see run().
        None => unsafe { libc::_exit(1) },
        Some((other, _)) => Err(ProcessError::Init(format!(
            "unexpected message from runtime: {other:?}"
        ))),
    }
}

fn prctl(op: libc::c_int, arg: libc::c_ulong, what: &str) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(op, arg, 0, 0, 0) } != 0 {
        return Err(super::last_err(what));
    }
    Ok(())
}

/// In a new user namespace the init starts as the overflow uid until its maps exist;
/// become root there.
fn become_root() -> Result<()> {
    // SAFETY: setresgid/setresuid with plain integers.
    unsafe {
        if libc::setresgid(0, 0, 0) != 0 {
            return Err(super::last_err("setgid 0 in the new user namespace"));
        }
        if libc::setresuid(0, 0, 0) != 0 {
            return Err(super::last_err("setuid 0 in the new user namespace"));
        }
    }
    Ok(())
}

fn setup_and_exec(
    cfg: &mut InitConfig,
    barrier: &mut Option<OwnedFd>,
) -> Result<std::convert::Infallible> {
    let spec = &cfg.bundle.spec;
    prctl(
        libc::PR_SET_PDEATHSIG,
        libc::SIGKILL as libc::c_ulong,
        "prctl(PR_SET_PDEATHSIG)",
    )?;
    // Without a user namespace to wait for (its maps come from the runtime), nothing up
    // to the rootfs depends on the runtime's first step, putting us into our cgroup: do it
    // meanwhile. The cgroup namespace, forks (hooks) and the process wait for it.
    let overlap = !cfg.slow_path && !cfg.plan.is_new(Ns::User);
    let mut state_json = String::new();
    if cfg.slow_path {
        expect_go(&cfg.channel)?;
        state_json = enter_namespaces_slow(cfg)?;
    } else if !overlap {
        state_json = expect_go(&cfg.channel)?.unwrap_or_default();
        become_root()?;
    }
    if !cfg.slow_path {
        for join in &cfg.plan.join {
            if join.typ != Ns::Pid && join.typ != Ns::Time {
                namespaces::setns(join).map_err(|e| ProcessError::Init(e.to_string()))?;
            }
        }
    }
    set_hostname(spec)?;
    if let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        crate::rootfs::sysctl::apply(sysctl).map_err(|e| ProcessError::Init(e.to_string()))?;
    }
    let rootfs = Rootfs {
        spec,
        path: &cfg.bundle.rootfs,
        bundle: &cfg.bundle.dir,
        cgroup: cfg.cgroup,
        own_mount_ns: cfg.plan.has(Ns::Mount),
        cgroup_ns: cfg.plan.has(Ns::Cgroup),
        user_ns: cfg.plan.has(Ns::User),
        no_pivot: cfg.no_pivot,
        idmapped: &cfg.idmapped,
    };
    let root = rootfs
        .prepare()
        .map_err(|e| ProcessError::Init(e.to_string()))?;
    if overlap {
        state_json = expect_go(&cfg.channel)?.unwrap_or_default();
    }
    if cfg.plan.is_new(Ns::Cgroup) {
        // Now that the runtime has put us into our cgroup, the new namespace is rooted there.
        namespaces::unshare(libc::CLONE_NEWCGROUP, "cgroup namespace")
            .map_err(|e| ProcessError::Init(e.to_string()))?;
    }
    let hooks = spec.hooks().as_ref();
    if !crate::hooks::stage(hooks, "prestart").is_empty()
        || !crate::hooks::stage(hooks, "createRuntime").is_empty()
    {
        cfg.channel
            .send(&Msg::RunRuntimeHooks)
            .map_err(super::sys("sync with runtime"))?;
        expect_go(&cfg.channel)?;
    }
    crate::hooks::run(
        "createContainer",
        crate::hooks::stage(hooks, "createContainer"),
        &state_json,
    )
    .map_err(|e| ProcessError::Init(e.to_string()))?;
    rootfs
        .pivot(&root)
        .map_err(|e| ProcessError::Init(e.to_string()))?;
    drop(root);
    rootfs
        .finalize()
        .map_err(|e| ProcessError::Init(e.to_string()))?;

    let process = spec.process().as_ref();
    let pty = match process {
        Some(p) if p.terminal().unwrap_or(false) => Some(setup_console(cfg, p)?),
        _ => None,
    };
    if !cfg.no_new_keyring {
        join_session_keyring(cfg.container_id);
    }
    let Some(process) = process else {
        // No process: the container exists (namespaces, mounts) but `start` will refuse.
        prctl(libc::PR_SET_PDEATHSIG, 0, "prctl(PR_SET_PDEATHSIG)")?;
        cfg.channel
            .send(&Msg::Ready)
            .map_err(super::sys("sync with runtime"))?;
        wait_forever();
    };
    let exe_and_env = prepare_process(cfg, process, &state_json)?;
    drop(pty);

    // Created. Until `start`, an ordinary kill signal must end us (no handler would
    // otherwise make a PID-namespace init immune to it).
    die_on_signals();
    prctl(libc::PR_SET_PDEATHSIG, 0, "prctl(PR_SET_PDEATHSIG)")?;
    cfg.channel
        .send(&Msg::Ready)
        .map_err(super::sys("sync with runtime"))?;

    let start_state = match &cfg.exec_listener {
        Some(listener) => {
            let conn = accept(listener)?;
            let state = read_start(&conn)?;
            *barrier = Some(conn);
            state
        }
        None => match cfg.channel.recv().map_err(super::sys("wait for start"))? {
            Some((Msg::Start(state), _)) => state,
            // SAFETY: the runtime is gone; see run().
            None => unsafe { libc::_exit(1) },
            Some((other, _)) => {
                return Err(ProcessError::Init(format!(
                    "unexpected message from runtime: {other:?}"
                )))
            }
        },
    };
    crate::hooks::run(
        "startContainer",
        crate::hooks::stage(hooks, "startContainer"),
        &start_state,
    )
    .map_err(|e| ProcessError::Init(e.to_string()))?;
    let (exe, env) = exe_and_env;
    signals::reset_for_exec();
    if process.no_new_privileges().unwrap_or(false) {
        // With no_new_privs the filter can go in last: only execve runs under it here.
        if let Some(filter) = &cfg.seccomp {
            install_seccomp(cfg, filter, &start_state)?;
        }
    }
    let args = process.args().clone().unwrap_or_default();
    let err = exec::execve(&exe, &args, &env);
    Err(ProcessError::Sys {
        what: format!("exec {}", exe.display()),
        source: err,
    })
}

/// Slow path (see mod.rs): join the user namespace first, then the others, create the
/// user namespace and the rest, and fork the real init into a new PID namespace.
/// Returns the state JSON (sent once the real init's pid is known).
fn enter_namespaces_slow(cfg: &mut InitConfig) -> Result<String> {
    let ns_err = |e: namespaces::NsError| ProcessError::Init(e.to_string());
    if let Some(user) = cfg.plan.take_join(Ns::User) {
        namespaces::setns(&user).map_err(ns_err)?;
    }
    for join in &cfg.plan.join {
        if join.typ != Ns::Pid && join.typ != Ns::Time {
            namespaces::setns(join).map_err(ns_err)?;
        }
    }
    if cfg.plan.is_new(Ns::User) {
        namespaces::unshare(libc::CLONE_NEWUSER, "user namespace").map_err(ns_err)?;
        cfg.channel
            .send(&Msg::MapsNeeded)
            .map_err(super::sys("sync with runtime"))?;
        expect_go(&cfg.channel)?;
        become_root()?;
    }
    let mut flags = 0;
    for t in [Ns::Mount, Ns::Network, Ns::Ipc, Ns::Uts] {
        if cfg.plan.is_new(t) {
            flags |= namespaces::clone_flag(t);
        }
    }
    if flags != 0 {
        namespaces::unshare(flags, "namespaces").map_err(ns_err)?;
    }
    let fork_flags = if cfg.plan.is_new(Ns::Pid) {
        libc::CLONE_NEWPID as u64
    } else {
        0
    } | libc::CLONE_PARENT as u64;
    match super::clone::clone3(fork_flags, None).map_err(super::sys("fork the container init"))? {
        super::clone::Forked::Child => {}
        super::clone::Forked::Parent { pidfd, .. } => {
            let _ = cfg
                .channel
                .send_fd(&Msg::InitForked, Some(pidfd.as_raw_fd()));
            // SAFETY: the intermediate process ends here; see run().
            unsafe { libc::_exit(0) }
        }
    }
    prctl(
        libc::PR_SET_PDEATHSIG,
        libc::SIGKILL as libc::c_ulong,
        "prctl(PR_SET_PDEATHSIG)",
    )?;
    Ok(expect_go(&cfg.channel)?.unwrap_or_default())
}

fn set_hostname(spec: &oci_spec::runtime::Spec) -> Result<()> {
    if let Some(h) = spec.hostname().as_ref().filter(|h| !h.is_empty()) {
        // SAFETY: pointer/length of a live string.
        if unsafe { libc::sethostname(h.as_ptr().cast(), h.len()) } != 0 {
            return Err(super::last_err(format!("hostname: sethostname {h:?}")));
        }
    }
    if let Some(d) = spec.domainname().as_ref().filter(|d| !d.is_empty()) {
        // SAFETY: pointer/length of a live string.
        if unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) } != 0 {
            return Err(super::last_err(format!("domainname: setdomainname {d:?}")));
        }
    }
    Ok(())
}

fn setup_console(cfg: &mut InitConfig, process: &Process) -> Result<Pty> {
    let root: OwnedFd = std::fs::File::open("/")
        .map_err(super::sys("open /"))?
        .into();
    let size = process
        .console_size()
        .as_ref()
        .map(|b| (b.height() as u16, b.width() as u16));
    let pty = console::allocate(root.as_fd(), size)?;
    mount_console(root.as_fd(), &pty)?;
    match std::mem::replace(&mut cfg.console, ConsoleTarget::None) {
        ConsoleTarget::Socket(sock) => console::send_master(sock.as_fd(), &pty)?,
        ConsoleTarget::Runtime => cfg
            .channel
            .send_fd(&Msg::ConsoleMaster, Some(pty.master.as_raw_fd()))
            .map_err(super::sys("send pty master"))?,
        ConsoleTarget::None => {
            return Err(ProcessError::Config {
                field: "process.terminal".into(),
                msg: "no console socket to send the pty to".into(),
            })
        }
    }
    console::attach_slave(&pty.slave)?;
    Ok(pty)
}

/// Bind-mounts the pty slave onto /dev/console through fds (never a /dev/pts/N path).
fn mount_console(root: std::os::fd::BorrowedFd, pty: &Pty) -> Result<()> {
    use crate::rootfs::{mount_api as api, resolve};
    let dev = resolve::open_in_root(
        root,
        "/dev",
        libc::O_PATH | libc::O_DIRECTORY,
        resolve::NO_SYMLINKS,
    )
    .map_err(super::sys("open /dev for /dev/console"))?;
    // Whatever the image has at /dev/console (a symlink, CVE-2025-52565) is replaced by
    // an empty regular file to mount onto.
    // SAFETY: unlinkat/openat relative to the /dev fd with static C strings.
    unsafe {
        libc::unlinkat(dev.as_raw_fd(), c"console".as_ptr(), 0);
        let fd = libc::openat(
            dev.as_raw_fd(),
            c"console".as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_WRONLY,
            0o600,
        );
        if fd < 0 {
            return Err(super::last_err("create /dev/console"));
        }
        libc::close(fd);
    }
    let target = resolve::open_beneath_strict(dev.as_fd(), "console", libc::O_PATH)
        .map_err(super::sys("open /dev/console"))?;
    let tree = api::open_tree(
        Some(pty.slave.as_fd()),
        "",
        api::OPEN_TREE_CLONE | api::AT_EMPTY_PATH,
    )
    .map_err(super::sys("clone the pty for /dev/console"))?;
    api::move_mount(tree.as_fd(), target.as_fd())
        .map_err(super::sys("mount the pty on /dev/console"))
}

/// runc gives each container its own session keyring (else all containers share the
/// caller's, and its quota runs out at ~200 containers).
fn join_session_keyring(id: &str) {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_ulong = 1;
    let name = exec::cstr(format!("_ses.{id}").as_bytes());
    // SAFETY: keyctl with a valid C string; failure (ENOSYS, EACCES in a user namespace)
    // only means the container shares the caller's keyring, as runc tolerates.
    unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
}

/// Everything about the process short of exec. Returns the program and environment.
fn prepare_process(
    cfg: &InitConfig,
    process: &Process,
    state_json: &str,
) -> Result<(PathBuf, Vec<String>)> {
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).map_err(|e| ProcessError::Sys {
            what: format!("process.oomScoreAdj: write {adj} to /proc/self/oom_score_adj (lowering it needs CAP_SYS_RESOURCE)"),
            source: e,
        })?;
    }
    if let Some(profile) = process
        .apparmor_profile()
        .as_ref()
        .filter(|p| !p.is_empty())
    {
        super::lsm::apparmor_exec(profile)?;
    }
    rlimits::apply(process.rlimits().as_deref().unwrap_or(&[]))?;
    if let Some(prio) = process.io_priority() {
        super::sched::set_io_priority(prio)?;
    }
    if let Some(persona) = cfg
        .bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.personality().as_ref())
    {
        super::sched::set_personality(persona)?;
    }
    fds::prepare_for_exec(&cfg.passed)?;
    if process.no_new_privileges().unwrap_or(false) {
        // NNP before the uid change is fine: it only affects future execve.
        prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1,
            "process.noNewPrivileges: prctl(PR_SET_NO_NEW_PRIVS)",
        )?;
    }

    let sets = CapSets::from_spec(process.capabilities().as_ref())?;
    let cwd = process.cwd();
    let early_chdir = exec::chdir(cwd);
    caps::apply_bounding(&sets)?;
    caps::set_keep_caps(true)?;
    user::set_ids(process.user(), user::setgroups_allowed())?;
    if let Err(first) = early_chdir {
        // The directory may be reachable only by the container's user.
        exec::chdir(cwd).map_err(|e| ProcessError::Sys {
            what: format!("process.cwd: chdir {}", cwd.display()),
            source: if e.kind() == first.kind() { e } else { first },
        })?;
    }
    exec::verify_cwd(cwd)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    if !nnp {
        // Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter, so it goes
        // in now, while we still hold it (runc does the same); the cwd check above ran
        // first, so a profile denying getcwd cannot break it.
        if let Some(filter) = &cfg.seccomp {
            caps::raise_effective()?;
            install_seccomp(cfg, filter, state_json)?;
        }
    }
    caps::set_keep_caps(false)?;
    caps::apply_final(&sets)?;
    user::set_umask(process.user());

    let env = container_env(cfg, process);
    let program = process
        .args()
        .as_ref()
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_default();
    let exe = exec::look_path(&program, &env)?;
    Ok((exe, env))
}

fn container_env(cfg: &InitConfig, process: &Process) -> Vec<String> {
    let mut env: Vec<String> = process.env().clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user::home_of(process.user().uid())));
    }
    if cfg.passed.listen_fds > 0 {
        env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        env.push(format!("LISTEN_FDS={}", cfg.passed.listen_fds));
        env.push("LISTEN_PID=1".into());
    }
    env
}

/// Loads the seccomp filter; with SCMP_ACT_NOTIFY, hands the listener fd to the
/// `listenerPath` socket the runtime connected to, with the container process state
/// (runtime-spec "containerProcessState").
fn install_seccomp(
    cfg: &InitConfig,
    filter: &crate::seccomp::Filter,
    state_json: &str,
) -> Result<()> {
    let listener = filter
        .install()
        .map_err(|e| ProcessError::Init(e.to_string()))?;
    let (Some(listener), Some(sock)) = (listener, cfg.seccomp_listener.as_ref()) else {
        return Ok(());
    };
    let seccomp = cfg
        .bundle
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.seccomp().as_ref());
    let state: serde_json::Value = serde_json::from_str(state_json).unwrap_or_default();
    let msg = serde_json::json!({
        "ociVersion": crate::OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": state["pid"],
        "metadata": seccomp.and_then(|s| s.listener_metadata().clone()).unwrap_or_default(),
        "state": state,
    })
    .to_string();
    let iov = [std::io::IoSlice::new(msg.as_bytes())];
    let fds = [listener.as_raw_fd()];
    let cmsg = [nix::sys::socket::ControlMessage::ScmRights(&fds)];
    nix::sys::socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &cmsg,
        nix::sys::socket::MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| ProcessError::Sys {
        what: "linux.seccomp.listenerPath: send the notify fd".into(),
        source: e.into(),
    })?;
    Ok(())
}

extern "C" fn exit_on_signal(sig: libc::c_int) {
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(128 + sig) }
}

/// Until `start`, an ordinary kill signal ends the waiting init, as the default action
/// would for a normal process (a PID-namespace init without handlers ignores them).
/// SIGPIPE stays ignored: hooks that do not read their stdin must not kill the init.
fn die_on_signals() {
    for sig in [
        libc::SIGHUP,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGALRM,
    ] {
        // SAFETY: installing an async-signal-safe handler; reset before exec.
        unsafe { libc::signal(sig, exit_on_signal as *const () as libc::sighandler_t) };
    }
    // Those signals may be blocked (run blocks all before cloning).
    // SAFETY: sigset_t is plain data.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

fn wait_forever() -> ! {
    die_on_signals();
    loop {
        // SAFETY: pause has no preconditions.
        unsafe { libc::pause() };
    }
}

fn accept(listener: &OwnedFd) -> Result<OwnedFd> {
    loop {
        // SAFETY: accept4 on a listening socket; no address wanted.
        let fd = unsafe {
            libc::accept4(
                listener.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        };
        if fd >= 0 {
            // SAFETY: new fd from the kernel.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(ProcessError::Sys {
                what: "wait for start (accept on exec.sock)".into(),
                source: err,
            });
        }
    }
}

/// `start` sends the state JSON for the startContainer hooks, then shuts down its
/// writing side.
fn read_start(conn: &OwnedFd) -> Result<String> {
    let mut f = std::fs::File::from(
        conn.try_clone()
            .map_err(super::sys("dup start connection"))?,
    );
    let mut buf = Vec::new();
    Read::by_ref(&mut f)
        .take(16 << 20)
        .read_to_end(&mut buf)
        .map_err(super::sys("read start request"))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
