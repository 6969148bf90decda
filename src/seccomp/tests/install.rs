//! Installs compiled filters for real, in forked children (the test process itself
//! must stay unfiltered). Ignored by default: `cargo test --lib seccomp -- --ignored`.

use super::*;
use std::os::fd::{AsRawFd, OwnedFd};

/// Forks a child that sets no_new_privs, installs `f` and runs `body`; returns the
/// child's exit status. The filter is compiled before the fork: the child of a
/// multi-threaded test process must not allocate.
fn in_child(f: &Filter, body: fn(Option<OwnedFd>) -> i32) -> i32 {
    // SAFETY: the child only makes raw syscalls (no allocation, no locks) and leaves
    // with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: prctl with integer arguments.
        let code = if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            101
        } else {
            f.install().map_or(102, body)
        };
        // SAFETY: ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child with a valid status pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child status {status:#x}");
    libc::WEXITSTATUS(status)
}

/// A raw syscall with up to two arguments; returns errno (0 on success), read
/// before anything else can overwrite it.
fn errno_of(nr: libc::c_long, a: usize, b: usize) -> i32 {
    // SAFETY: only called with syscalls whose arguments are integers or valid
    // C strings, and which fail harmlessly.
    let ret = unsafe { libc::syscall(nr, a, b) };
    if ret == -1 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    } else {
        0
    }
}

#[test]
#[ignore = "installs filters in forked children; run with --ignored"]
fn install_in_child() {
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}],
    }));
    let code = in_child(&f, |fd| {
        let ppid = errno_of(libc::SYS_getppid, 0, 0);
        let pid = errno_of(libc::SYS_getpid, 0, 0);
        match (fd, ppid, pid) {
            (None, 38, 0) => 0,
            (Some(_), ..) => 103,
            (_, e, _) => 10 + e.min(100),
        }
    });
    assert_eq!(code, 0, "child exit code");

    // The docker-like profile loads (the kernel verifies the program), allows what it
    // lists, denies the rest with EPERM and syscalls newer than it with ENOSYS.
    let f = compile(&docker()).unwrap();
    let code = in_child(&f, |_| {
        let path = c"/nonexistent".as_ptr() as usize;
        let getpid = errno_of(libc::SYS_getpid, 0, 0);
        let umount = errno_of(libc::SYS_umount2, path, 0);
        let future = errno_of(1000, 0, 0);
        match (getpid, umount, future) {
            (0, libc::EPERM, libc::ENOSYS) => 0,
            (0, libc::EPERM, _) => 21,
            (0, ..) => 22,
            _ => 20,
        }
    });
    assert_eq!(code, 0, "docker profile child exit code");

    // NOTIFY returns a close-on-exec listener fd (TSYNC combined with it).
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["mknodat"], "action": "SCMP_ACT_NOTIFY"}],
    }));
    let code = in_child(&f, |fd| {
        let Some(fd) = fd else { return 30 };
        // SAFETY: F_GETFD on an fd we own.
        let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
        if flags >= 0 && flags & libc::FD_CLOEXEC != 0 {
            0
        } else {
            31
        }
    });
    assert_eq!(code, 0, "notify child exit code");
}
