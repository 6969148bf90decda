//! The container lifecycle and the runc-compatible CLI: create → start → running →
//! kill → stopped → delete, run, state, list, spec, and the global flags.

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::{json, Value};
use std::process::Stdio;

#[test]
fn version_names_skiff_and_the_spec() {
    let out = std::process::Command::new(skiff_bin())
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with("skiff version "),
        "{text}"
    );
    assert_eq!(lines.next().unwrap(), "spec: 1.3.0");
}

#[test]
fn run_prints_output_and_returns_the_exit_status() {
    let skiff = Skiff::new();
    let (code, out, _) = skiff.exec_in(&["sh", "-c", "echo hello; exit 7"], |_| {});
    assert_eq!(code, 7);
    assert_eq!(out, "hello\n");
    let (code, _, _) = skiff.exec_in(&["true"], |_| {});
    assert_eq!(code, 0);
}

#[test]
fn run_reports_death_by_signal_as_128_plus_n() {
    let skiff = Skiff::new();
    // The shell is PID 1: it must not be protected from its own signal, so kill a child.
    let (code, _, _) = skiff.exec_in(&["sh", "-c", "sh -c 'kill -9 $$'; exit $?"], |_| {});
    assert_eq!(code, 137);
    let (code, _, _) = skiff.exec_in(&["sh", "-c", "kill -TERM $$"], |c| {
        // Without a PID namespace the shell is an ordinary process and dies of SIGTERM.
        remove_namespace(c, "pid");
    });
    assert_eq!(code, 143);
}

#[test]
fn stdin_is_passed_through() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sh", "-c", "read line; echo got:$line"]);
    let id = unique_id("stdin");
    let mut child = skiff
        .cmd()
        .args(["run", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got:abc\n");
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn create_start_kill_delete_walks_the_states() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "touch /tmp/started; exec sleep 1000"]);
    b.edit(|c| c["root"]["readonly"] = json!(false));
    let id = unique_id("life");
    let pid_file = b.path().join("pid");
    let status = skiff
        .cmd()
        .args(["create", "--bundle"])
        .arg(b.path())
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&id)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    // pid file: digits only, no newline; the init exists and waits at the barrier.
    let pid_text = std::fs::read_to_string(&pid_file).unwrap();
    assert!(pid_text.chars().all(|c| c.is_ascii_digit()), "{pid_text:?}");
    let pid: i32 = pid_text.parse().unwrap();
    let state = skiff.state(&id);
    assert_eq!(state["status"], "created");
    assert_eq!(state["pid"], pid);
    assert_eq!(state["id"], id.as_str());
    assert_eq!(state["bundle"], b.path().to_string_lossy().as_ref());
    for key in ["ociVersion", "rootfs", "created", "owner", "annotations"] {
        assert!(state.get(key).is_some(), "state lacks {key}: {state}");
    }
    assert!(
        !b.rootfs().join("tmp/started").exists(),
        "the process ran before start"
    );
    // The init is in every namespace of the config already.
    for ns in ["pid", "net", "ipc", "uts", "mnt"] {
        let host = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let init = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        assert_ne!(host, init, "{ns} namespace not entered at create");
    }
    // delete of a created container fails (runtime-spec), and changes nothing.
    let err = skiff.fails(&["delete", &id]);
    assert!(err.contains("not stopped"), "{err}");
    skiff.ok(&["start", &id]);
    assert_eq!(skiff.state(&id)["status"], "running");
    assert!(wait_for(|| b.rootfs().join("tmp/started").exists()));
    assert!(skiff.fails(&["start", &id]).contains("cannot start"));
    assert!(skiff.fails(&["delete", &id]).contains("not stopped"));
    skiff.ok(&["kill", &id, "KILL"]);
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    assert_eq!(skiff.state(&id)["pid"], 0);
    let err = skiff.fails(&["kill", &id, "TERM"]);
    assert!(err.contains("container not running"), "{err}");
    skiff.ok(&["delete", &id]);
    let err = skiff.fails(&["state", &id]);
    assert!(err.contains("container does not exist"), "{err}");
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn kill_takes_names_numbers_and_defaults_to_sigterm() {
    let skiff = Skiff::new();
    for (sig, expect) in [
        (None, "TERM"),
        (Some("USR1"), "USR1"),
        (Some("SIGHUP"), "HUP"),
        (Some("12"), "USR2"),
    ] {
        let mut b = Bundle::new(&["sh", "-c", "for s in TERM USR1 HUP USR2; do trap \"echo $s > /tmp/sig; exit 0\" $s; done; touch /tmp/ready; while :; do sleep 0.05; done"]);
        b.edit(|c| c["root"]["readonly"] = json!(false));
        let id = unique_id("sig");
        skiff.create(&b, &id);
        skiff.ok(&["start", &id]);
        assert!(wait_for(|| b.rootfs().join("tmp/ready").exists()));
        let mut args = vec!["kill", &id];
        if let Some(s) = sig {
            args.push(s);
        }
        skiff.ok(&args);
        assert!(
            wait_for(|| std::fs::read_to_string(b.rootfs().join("tmp/sig"))
                .is_ok_and(|s| s.trim() == expect)),
            "signal {sig:?} not seen"
        );
        assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
        skiff.ok(&["delete", &id]);
        assert_nothing_left(&skiff, &id, &b);
    }
    assert!(skiff
        .fails(&["kill", "nope", "KILL"])
        .contains("does not exist"));
}

#[test]
fn kill_all_signals_every_process() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "sleep 1000 & sleep 1000 & touch /tmp/ready; wait",
    ]);
    // Without a PID namespace, killing the init alone would leave the sleeps behind.
    b.edit(|c| {
        remove_namespace(c, "pid");
        c["root"]["readonly"] = json!(false);
    });
    let id = unique_id("all");
    skiff.create(&b, &id);
    skiff.ok(&["start", &id]);
    assert!(wait_for(|| b.rootfs().join("tmp/ready").exists()));
    let procs = std::fs::read_to_string(
        common::cgroup_dirs_named(&id)
            .iter()
            .find(|p| p.starts_with("/sys/fs/cgroup/pids"))
            .unwrap()
            .join("cgroup.procs"),
    )
    .unwrap();
    assert_eq!(procs.lines().count(), 3, "{procs}");
    skiff.ok(&["kill", "--all", &id, "9"]);
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    skiff.ok(&["delete", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn delete_force_stops_a_running_container_and_ignores_a_missing_one() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("force");
    skiff.create(&b, &id);
    skiff.ok(&["start", &id]);
    skiff.ok(&["delete", "--force", &id]);
    assert_nothing_left(&skiff, &id, &b);
    // containerd's cleanup deletes an already deleted container.
    skiff.ok(&["delete", "--force", &id]);
    assert!(skiff
        .fails(&["delete", &id])
        .contains("container does not exist"));
    // Also for one that was only created.
    let id2 = unique_id("force");
    skiff.create(&b, &id2);
    skiff.ok(&["delete", "-f", &id2]);
    assert_nothing_left(&skiff, &id2, &b);
}

#[test]
fn start_without_process_fails_but_create_succeeds() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c.as_object_mut().unwrap().remove("process");
    });
    let id = unique_id("noproc");
    skiff.create(&b, &id);
    assert_eq!(skiff.state(&id)["status"], "created");
    let err = skiff.fails(&["start", &id]);
    assert!(err.contains("no process"), "{err}");
    assert_eq!(skiff.state(&id)["status"], "created");
    skiff.ok(&["delete", "--force", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn a_dead_init_reports_stopped_even_if_its_pid_is_reused() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("reuse");
    skiff.create(&b, &id);
    // Pretend the recorded pid now belongs to another process: same pid, other start time.
    let path = skiff.state_dir(&id).join("state.json");
    let mut st: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let real_start = st["initStartTime"].clone();
    st["initStartTime"] = json!(real_start.as_u64().unwrap() + 1);
    std::fs::write(&path, st.to_string()).unwrap();
    assert_eq!(skiff.state(&id)["status"], "stopped");
    st["initStartTime"] = real_start;
    std::fs::write(&path, st.to_string()).unwrap();
    assert_eq!(skiff.state(&id)["status"], "created");
    skiff.ok(&["delete", "--force", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn ids_are_validated_and_unique() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    for bad in ["", "..", "a/b", "../x", "a b"] {
        let err = skiff.fails_detached(&["create", "--bundle", &b.path().to_string_lossy(), bad]);
        assert!(err.contains("invalid container id"), "{bad:?}: {err}");
    }
    let id = unique_id("dup");
    skiff.create(&b, &id);
    let err = skiff.fails_detached(&["create", "--bundle", &b.path().to_string_lossy(), &id]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        skiff.state(&id)["status"],
        "created",
        "the first container is untouched"
    );
    skiff.ok(&["delete", "--force", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn list_shows_containers_as_table_json_and_ids() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let (a, z) = (unique_id("lista"), unique_id("listz"));
    skiff.create(&b, &a);
    skiff.create(&b, &z);
    skiff.ok(&["start", &z]);
    let table = skiff.ok(&["list"]);
    let header = table.lines().next().unwrap();
    for col in ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"] {
        assert!(header.contains(col), "{table}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&a) && l.contains("created")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(&z) && l.contains("running")),
        "{table}"
    );
    let json: Value = serde_json::from_str(&skiff.ok(&["list", "--format", "json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(skiff.ok(&["list", "-q"]), format!("{a}\n{z}\n"));
    skiff.ok(&["delete", "-f", &a]);
    skiff.ok(&["delete", "-f", &z]);
    assert_eq!(skiff.ok(&["list", "-q"]), "");
}

#[test]
fn global_flags_single_dash_and_log_file() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["true"]);
    let log = b.path().join("log.json");
    std::fs::write(
        &log,
        "{\"level\":\"info\",\"msg\":\"earlier\",\"time\":\"x\"}\n",
    )
    .unwrap();
    // conmon's form (--log-format=json) and a single-dash long flag (-bundle).
    let out = skiff
        .cmd()
        .arg("--log")
        .arg(&log)
        .arg("--log-format=json")
        .args(["run", "-bundle"])
        .arg(b.path())
        .arg(unique_id("flags"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A failure appends one JSON error line; the log is never truncated.
    let out = skiff
        .cmd()
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "state", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("container does not exist"));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "{\"level\":\"info\",\"msg\":\"earlier\",\"time\":\"x\"}"
    );
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(last["level"], "error");
    assert_eq!(last["msg"], "container does not exist");
    let time = last["time"].as_str().unwrap();
    assert!(
        time.len() >= 20 && time.as_bytes()[10] == b'T' && time.ends_with('Z'),
        "{time}"
    );
    // --debug and --rootless are accepted; --systemd-cgroup is a clear error that leaves nothing.
    skiff.ok(&["--debug", "--rootless", "false", "list"]);
    let id = unique_id("sd");
    let err = skiff.fails_detached(&[
        "--systemd-cgroup",
        "create",
        "--bundle",
        &b.path().to_string_lossy(),
        &id,
    ]);
    assert!(err.contains("systemd"), "{err}");
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn run_with_a_bundle_path_derives_the_id() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sh", "-c", "echo $(hostname)"]);
    let name = b.path().file_name().unwrap().to_string_lossy().into_owned();
    let out = skiff
        .cmd()
        .current_dir(b.path().parent().unwrap())
        .args(["run", &format!("./{name}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "skiff\n");
    assert_nothing_left(&skiff, &name, &b);
}

#[test]
fn run_detach_and_keep() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("detach");
    let status = skiff
        .cmd()
        .args(["run", "-d", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(skiff.state(&id)["status"], "running");
    skiff.ok(&["delete", "-f", &id]);
    let b2 = Bundle::new(&["true"]);
    let id2 = unique_id("keep");
    skiff.ok(&[
        "run",
        "--keep",
        "--bundle",
        &b2.path().to_string_lossy(),
        &id2,
    ]);
    assert_eq!(skiff.state(&id2)["status"], "stopped");
    skiff.ok(&["delete", &id2]);
    assert_nothing_left(&skiff, &id2, &b2);
}

#[test]
fn spec_writes_a_config_that_runs_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(skiff_bin())
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    assert!(run(&["spec"]).status.success());
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(config["process"]["args"], json!(["sh"]));
    assert_eq!(config["process"]["terminal"], true);
    assert!(!run(&["spec"]).status.success(), "overwrote config.json");
    let dir2 = tempfile::tempdir().unwrap();
    assert!(std::process::Command::new(skiff_bin())
        .args(["spec", "--rootless", "--bundle"])
        .arg(dir2.path())
        .status()
        .unwrap()
        .success());
    let rl: Value =
        serde_json::from_str(&std::fs::read_to_string(dir2.path().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(rl["linux"]["uidMappings"][0]["containerID"], 0);
}

#[test]
fn start_returns_without_holding_the_callers_output() {
    // start's stdout/stderr are pipes the caller reads to EOF (containerd's shim waits
    // for that): nothing may keep them open once skiff exits.
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("eof");
    skiff.create(&b, &id);
    let child = skiff
        .cmd()
        .args(["start", &id])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, _out, err) = output_to_eof(child);
    assert!(status.success(), "{err}");
    skiff.ok(&["delete", "-f", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn init_stays_a_child_of_a_subreaper_caller() {
    // containerd's shim and conmon are subreapers and reap the init themselves.
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("reaper");
    let script = format!(
        "import ctypes,subprocess,sys,os\n\
         ctypes.CDLL(None).prctl(36,1,0,0,0)\n\
         r=subprocess.run([{bin:?},'--root',{root:?},'create','--bundle',{bundle:?},'--pid-file',{pidf:?},{id:?}],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)\n\
         pid=int(open({pidf:?}).read())\n\
         ppid=[l.split()[1] for l in open('/proc/%d/status'%pid) if l.startswith('PPid:')][0]\n\
         print(os.getpid(), ppid)\n",
        bin = skiff_bin(),
        root = skiff.root.path().to_string_lossy(),
        bundle = b.path().to_string_lossy(),
        pidf = b.path().join("pid").to_string_lossy(),
        id = id
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let ids: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(ids.len(), 2, "{text}");
    assert_eq!(ids[0], ids[1], "init's parent is not the subreaper caller");
    skiff.ok(&["delete", "-f", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn commands_on_one_container_are_serialized_by_its_lock() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("lock");
    skiff.create(&b, &id);
    // Hold the container's lock as another skiff command would.
    let dir = std::fs::File::open(skiff.state_dir(&id)).unwrap();
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a directory fd we own.
    assert_eq!(unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) }, 0);
    let mut start = skiff.cmd().args(["start", &id]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        start.try_wait().unwrap().is_none(),
        "start did not wait for the lock"
    );
    assert_eq!(
        skiff.state(&id)["status"],
        "created",
        "state reads without the lock"
    );
    drop(dir);
    assert!(start.wait().unwrap().success());
    assert_eq!(skiff.state(&id)["status"], "running");
    skiff.ok(&["delete", "-f", &id]);
    assert_nothing_left(&skiff, &id, &b);
}
