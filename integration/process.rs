//! The container process: args and PATH lookup, env, cwd, user, umask, rlimits,
//! capabilities, no_new_privs, oom_score_adj, fds — checked from inside.

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::json;
use std::os::fd::AsRawFd;
use std::process::Stdio;

#[test]
fn args_are_looked_up_in_the_containers_path() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["echo", "a b", "c"], |_| {});
    assert_eq!((code, out.as_str()), (0, "a b c\n"), "{err}");
    // /bin is not on PATH: not found, at create time, with runc's wording.
    let (code, _, err) = skiff.exec_in(&["echo", "x"], |c| {
        c["process"]["env"] = json!(["PATH=/nonexistent"])
    });
    assert_ne!(code, 0);
    assert!(err.contains("executable file not found in $PATH"), "{err}");
    let (code, _, err) = skiff.exec_in(&["/bin/nope"], |_| {});
    assert_ne!(code, 0);
    assert!(
        err.contains("/bin/nope") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn env_and_home() {
    let skiff = Skiff::new();
    let (code, out, _) = skiff.exec_in(&["env"], |c| {
        c["process"]["env"] = json!(["PATH=/bin", "A=1", "B=x=y"])
    });
    assert_eq!(code, 0);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines, ["A=1", "B=x=y", "HOME=/root", "PATH=/bin"]);
    let (_, out, _) = skiff.exec_in(&["sh", "-c", "echo $HOME"], |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    });
    assert_eq!(out, "/home/user\n");
}

#[test]
fn cwd_is_entered_and_verified() {
    let skiff = Skiff::new();
    let (code, out, _) = skiff.exec_in(&["pwd"], |c| c["process"]["cwd"] = json!("/etc"));
    assert_eq!((code, out.as_str()), (0, "/etc\n"));
    // CVE-2024-21626: a cwd through a leaked fd must never work.
    for n in 3..=20 {
        let (code, _, err) = skiff.exec_in(&["pwd"], |c| {
            c["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"))
        });
        assert_ne!(code, 0, "cwd /proc/self/fd/{n} accepted");
        assert!(err.contains("process.cwd"), "{err}");
    }
    let (code, _, err) = skiff.exec_in(&["pwd"], |c| c["process"]["cwd"] = json!("relative"));
    assert_ne!(code, 0);
    assert!(
        err.contains("process.cwd") && err.contains("absolute"),
        "{err}"
    );
}

#[test]
fn user_groups_and_umask() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["sh", "-c", "id -u; id -g; id -G; umask"], |c| {
        c["process"]["user"] =
            json!({"uid": 1000, "gid": 1000, "additionalGids": [5, 44], "umask": 63});
    });
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000");
    assert_eq!(lines[1], "1000");
    let mut groups: Vec<&str> = lines[2].split_whitespace().collect();
    groups.sort();
    assert_eq!(groups, ["1000", "44", "5"]);
    assert_eq!(lines[3], "0077");
}

#[test]
fn rlimits_apply_and_a_too_high_hard_limit_is_a_clear_error() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"], |c| {
        c["process"]["rlimits"] = json!([
            {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 900},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}
        ]);
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "512\n900\n0\n");
    // This machine lacks CAP_SYS_RESOURCE: raising NOFILE above our hard limit fails.
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit into a local struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    let too_high = lim.rlim_max + 1;
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        c["process"]["rlimits"] =
            json!([{"type": "RLIMIT_NOFILE", "soft": too_high, "hard": too_high}]);
    });
    if code != 0 {
        assert!(
            err.contains("process.rlimits[0]")
                && err.contains("RLIMIT_NOFILE")
                && err.contains("not permitted"),
            "{err}"
        );
    }
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}]);
    });
    assert_ne!(code, 0);
    assert!(err.contains("soft limit"), "{err}");
}

fn status_field(out: &str, key: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("{key} missing in {out}"));
    u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
}

#[test]
fn all_five_capability_sets() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["cat", "/proc/self/status"], |c| {
        c["process"]["capabilities"] = json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"],
            "effective": ["CAP_CHOWN", "CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"]
        });
    });
    assert_eq!(code, 0, "{err}");
    let (chown, kill, bind, raw) = (1u64 << 0, 1u64 << 5, 1u64 << 10, 1u64 << 13);
    assert_eq!(status_field(&out, "CapBnd:"), chown | kill | bind | raw);
    assert_eq!(status_field(&out, "CapPrm:"), chown | kill | bind);
    assert_eq!(status_field(&out, "CapInh:"), bind);
    assert_eq!(status_field(&out, "CapAmb:"), bind);
    // Ambient capabilities are added to the effective set at exec.
    assert_eq!(status_field(&out, "CapEff:"), chown | kill | bind);
    // A non-root user: execve recomputes the sets from the file (none here) and the
    // ambient set, so only ambient capabilities survive — the kernel's rule, as with runc.
    let (code, out, err) = skiff.exec_in(&["cat", "/proc/self/status"], |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] = json!({"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL", "CAP_CHOWN"],
            "permitted": ["CAP_KILL", "CAP_CHOWN"], "inheritable": ["CAP_KILL"], "ambient": ["CAP_KILL"]});
    });
    assert_eq!(code, 0, "{err}");
    assert_eq!(status_field(&out, "CapEff:"), kill);
    assert_eq!(status_field(&out, "CapPrm:"), kill);
    assert_eq!(status_field(&out, "CapBnd:"), kill | chown);
    let (_, out, _) = skiff.exec_in(&["cat", "/proc/self/status"], |c| {
        c["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        c["process"]["capabilities"] =
            json!({"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]});
    });
    assert_eq!(status_field(&out, "CapEff:"), 0);
    assert_eq!(status_field(&out, "CapInh:"), 0);
    assert_eq!(status_field(&out, "CapAmb:"), 0);
}

#[test]
fn unknown_capability_is_rejected_before_anything_exists() {
    let skiff = Skiff::new();
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        c["process"]["capabilities"]["bounding"] = json!(["CAP_TEST"])
    });
    assert_ne!(code, 0);
    assert!(
        err.contains("process.capabilities.bounding") && err.contains("CAP_TEST"),
        "{err}"
    );
}

#[test]
fn no_new_privileges_and_oom_score_adj() {
    let skiff = Skiff::new();
    let (code, out, _) = skiff.exec_in(
        &[
            "sh",
            "-c",
            "grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj",
        ],
        |c| {
            c["process"]["noNewPrivileges"] = json!(true);
            c["process"]["oomScoreAdj"] = json!(500);
        },
    );
    assert_eq!(code, 0);
    assert_eq!(out, "NoNewPrivs:\t1\n500\n");
    let (_, out, _) = skiff.exec_in(&["grep", "NoNewPrivs", "/proc/self/status"], |c| {
        c["process"]["noNewPrivileges"] = json!(false)
    });
    assert_eq!(out, "NoNewPrivs:\t0\n");
}

#[test]
fn only_stdio_and_passed_fds_reach_the_process() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["ls", "/proc/self/fd"]);
    let id = unique_id("fds");
    // A stray fd (not close-on-exec) in the caller must not leak into the container.
    let stray = std::fs::File::open("/etc/hostname").unwrap();
    let stray_fd = stray.as_raw_fd();
    // SAFETY: clearing FD_CLOEXEC on our own fd so skiff inherits it.
    unsafe { libc::fcntl(stray_fd, libc::F_SETFD, 0) };
    let out = skiff
        .cmd()
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    drop(stray);
    let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    // ls's own directory fd is 3.
    assert_eq!(
        fds,
        ["0", "1", "2", "3"],
        "stray fd {stray_fd} leaked? {fds:?}"
    );
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn preserve_fds_and_listen_fds() {
    let skiff = Skiff::new();
    let b = Bundle::new(&[
        "sh",
        "-c",
        "echo $LISTEN_FDS $LISTEN_PID; cat <&3; cat <&4; cat <&5",
    ]);
    let id = unique_id("pfd");
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<std::fs::File> = (0..3)
        .map(|i| {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, format!("file{i}\n")).unwrap();
            std::fs::File::open(p).unwrap()
        })
        .collect();
    let script = format!(
        "exec 3<{d}/f0 4<{d}/f1 5<{d}/f2; LISTEN_FDS=2 exec {bin} --root {root} run --preserve-fds 1 --bundle {b} {id}",
        d = dir.path().display(),
        bin = skiff_bin(),
        root = skiff.root.path().display(),
        b = b.path().display()
    );
    drop(files);
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "2 1\nfile0\nfile1\nfile2\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_nothing_left(&skiff, &id, &b);
    let err = skiff.fails(&[
        "run",
        "--preserve-fds",
        "40",
        "--bundle",
        &b.path().to_string_lossy(),
        &unique_id("pfd"),
    ]);
    assert!(
        err.contains("--preserve-fds") && err.contains("not open"),
        "{err}"
    );
}

#[test]
fn io_priority_and_personality() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["sh", "-c", "ionice -p $$; uname -m"], |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 6});
        c["linux"]["personality"] = json!({"domain": "LINUX32"});
    });
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].contains("best-effort") && lines[0].contains('6'),
        "{out}"
    );
    assert_eq!(lines[1], "i686");
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        c["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_BE", "priority": 9});
    });
    assert_ne!(code, 0);
    assert!(err.contains("process.ioPriority.priority"), "{err}");
}
