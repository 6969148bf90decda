//! `process.terminal`: the pty allocated inside the container and sent over
//! --console-socket (containerd/conmon), and `skiff run` holding the pty itself.

#[path = "common/mod.rs"]
mod common;

use common::*;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::json;
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::process::Stdio;

/// Receives the one message a console socket gets: (payload, fds).
fn receive_master(listener: &UnixListener) -> (Vec<u8>, Vec<OwnedFd>) {
    let (conn, _) = listener.accept().unwrap();
    let mut buf = [0u8; 4096];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 4]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::empty(),
    )
    .unwrap();
    let mut fds = Vec::new();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(list) = c {
            // SAFETY: fds received for us.
            fds.extend(
                list.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    let n = msg.bytes;
    (buf[..n].to_vec(), fds)
}

fn read_until(master: &mut std::fs::File, needle: &str) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if String::from_utf8_lossy(&out).contains(needle) {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn console_socket_gets_the_master_and_the_container_the_slave() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "tty; ls -l /dev/console; stty size; echo done-$((2+3))",
    ]);
    b.edit(|c| {
        c["process"]["terminal"] = json!(true);
        c["process"]["consoleSize"] = json!({"height": 33, "width": 111});
    });
    let sock = b.path().join("console.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let id = unique_id("tty");
    // create with a terminal must not keep our stdout: read it to EOF while the
    // container lives on.
    let child = skiff
        .cmd()
        .args(["create", "--console-socket"])
        .arg(&sock)
        .arg("--bundle")
        .arg(b.path())
        .arg(&id)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (payload, fds) = receive_master(&listener);
    let (status, _out, err) = output_to_eof(child);
    assert!(status.success(), "{err}");
    assert!(
        !payload.is_empty(),
        "payload must not be empty (conmon, containerd)"
    );
    assert_eq!(fds.len(), 1, "exactly one fd");
    let mut master = std::fs::File::from(fds.into_iter().next().unwrap());
    skiff.ok(&["start", &id]);
    let text = read_until(&mut master, "done-5");
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("136,"), "/dev/console is the pty: {text}");
    assert!(text.contains("33 111"), "consoleSize: {text}");
    assert!(text.contains("done-5"), "{text}");
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    skiff.ok(&["delete", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn create_with_a_terminal_needs_a_console_socket() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh"]);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let id = unique_id("nosock");
    let err = skiff.fails_detached(&["create", "--bundle", &b.path().to_string_lossy(), &id]);
    assert!(
        err.contains("process.terminal") && err.contains("--console-socket"),
        "{err}"
    );
    assert_nothing_left(&skiff, &id, &b);
    let err = skiff.fails_detached(&["run", "-d", "--bundle", &b.path().to_string_lossy(), &id]);
    assert!(err.contains("--console-socket"), "{err}");
    assert_nothing_left(&skiff, &id, &b);
}

/// `skiff run` of `b` with its stdio on a new pty of the given size, as in a terminal.
/// Returns the child, the master and the slave (the caller's terminal).
fn run_on_pty(
    skiff: &Skiff,
    b: &Bundle,
    id: &str,
    rows: u16,
    cols: u16,
) -> (std::process::Child, std::fs::File, std::fs::File) {
    let size = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    let slave = std::fs::File::from(pty.slave);
    let child = skiff
        .cmd()
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(id)
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave.try_clone().unwrap())
        .spawn()
        .unwrap();
    (child, std::fs::File::from(pty.master), slave)
}

fn termios_of(fd: std::os::fd::BorrowedFd) -> nix::sys::termios::Termios {
    nix::sys::termios::tcgetattr(fd).unwrap()
}

#[test]
fn run_in_the_foreground_relays_a_terminal_like_docker_run_it() {
    let skiff = Skiff::new();
    // The default spec: an interactive sh on a terminal.
    let mut b = Bundle::new(&["sh"]);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let id = unique_id("it");
    let (mut child, mut master, slave) = run_on_pty(&skiff, &b, &id, 40, 120);
    let before = termios_of(slave.as_fd());
    master
        .write_all(b"stty size; echo res-$((6*7)); exit 5\r")
        .unwrap();
    let text = read_until(&mut master, "res-42");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "{text}");
    assert!(text.contains("40 120"), "window size passed in: {text}");
    assert!(text.contains("res-42"), "{text}");
    // The caller's terminal is back in its original mode.
    let after = termios_of(slave.as_fd());
    assert_eq!(before.local_flags, after.local_flags);
    assert_eq!(before.input_flags, after.input_flags);
    assert_eq!(before.output_flags, after.output_flags);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn window_size_changes_follow_sigwinch() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "read x; stty size; echo end"]);
    b.edit(|c| c["process"]["terminal"] = json!(true));
    let id = unique_id("winch");
    let (mut child, mut master, _slave) = run_on_pty(&skiff, &b, &id, 10, 20);
    // Once the container runs, skiff is in its relay loop (signals are queued for it from
    // its start anyway).
    assert!(wait_for(
        || skiff.run(&["state", &id]).status.success() && skiff.state(&id)["status"] == "running"
    ));
    let ws = libc::winsize {
        ws_row: 50,
        ws_col: 160,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ on our pty master with a valid winsize.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    // The terminal driver signals the foreground group; make sure skiff hears it.
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGWINCH) };
    std::thread::sleep(std::time::Duration::from_millis(200));
    master.write_all(b"go\r").unwrap();
    let text = read_until(&mut master, "end");
    assert!(child.wait().unwrap().success(), "{text}");
    assert!(text.contains("50 160"), "{text}");
    assert_nothing_left(&skiff, &id, &b);
}
