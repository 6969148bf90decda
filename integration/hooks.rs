//! OCI hooks: every stage at its point of the lifecycle, with the state JSON on stdin,
//! in the right namespaces; failures of create-time hooks tear everything down,
//! poststart/poststop failures are warnings.

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::{json, Value};

/// A hook that appends "<name> <ns inode> <state json>" to `log`.
fn logging_hook(name: &str, log: &std::path::Path) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo \"{name} $(readlink /proc/self/ns/mnt) $(cat)\" >> {}", log.display())],
        "env": ["PATH=/bin:/usr/bin"]
    })
}

fn read_log(log: &std::path::Path) -> Vec<(String, String, Value)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let name = parts.next().unwrap().to_string();
            let ns = parts.next().unwrap().to_string();
            let state: Value = serde_json::from_str(parts.next().unwrap()).unwrap();
            (name, ns, state)
        })
        .collect()
}

#[test]
fn every_stage_runs_in_order_with_the_state_on_stdin() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "exit 0"]);
    let log = b.path().join("hooks.log");
    // startContainer runs in the container after the pivot: it must log into the rootfs.
    let inner_log = b.rootfs().join("tmp/hooks.log");
    b.edit(|c| {
        c["root"]["readonly"] = json!(false);
        c["annotations"] = json!({"org.example/k": "v"});
        c["hooks"] = json!({
            "prestart": [logging_hook("prestart", &log)],
            "createRuntime": [logging_hook("createRuntime", &log)],
            "createContainer": [logging_hook("createContainer", &log)],
            "startContainer": [logging_hook("startContainer", std::path::Path::new("/tmp/hooks.log"))],
            "poststart": [logging_hook("poststart", &log)],
            "poststop": [logging_hook("poststop", &log)],
        });
    });
    let id = unique_id("hooks");
    skiff.create(&b, &id);
    let pid = skiff.state(&id)["pid"].as_i64().unwrap();
    let entries = read_log(&log);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["prestart", "createRuntime", "createContainer"]);
    skiff.ok(&["start", &id]);
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    skiff.ok(&["delete", &id]);
    let entries = read_log(&log);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "poststart",
            "poststop"
        ]
    );
    let inner = std::fs::read_to_string(&inner_log);
    let _ = inner; // the rootfs is gone with the bundle? no: the bundle still exists.
    let start_entries = read_log(&inner_log);
    assert_eq!(start_entries.len(), 1);
    assert_eq!(start_entries[0].0, "startContainer");

    let host_mnt = std::fs::read_link("/proc/self/ns/mnt")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let status_of = |n: &str| {
        entries.iter().find(|e| e.0 == n).unwrap().2["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let ns_of = |n: &str| entries.iter().find(|e| e.0 == n).unwrap().1.clone();
    // runtime-spec: prestart/createRuntime/createContainer run during create.
    assert_eq!(status_of("prestart"), "creating");
    assert_eq!(status_of("createRuntime"), "creating");
    assert_eq!(status_of("createContainer"), "creating");
    assert_eq!(start_entries[0].2["status"], "created");
    assert_eq!(status_of("poststart"), "running");
    assert_eq!(status_of("poststop"), "stopped");
    // Runtime-namespace hooks see the host's mount namespace, container ones the container's.
    assert_eq!(ns_of("prestart"), host_mnt);
    assert_eq!(ns_of("createRuntime"), host_mnt);
    assert_eq!(ns_of("poststart"), host_mnt);
    assert_ne!(ns_of("createContainer"), host_mnt);
    assert_ne!(start_entries[0].1, host_mnt);
    for (name, _, state) in entries.iter().filter(|e| e.0 != "poststop") {
        assert_eq!(state["pid"], pid, "{name}");
    }
    for (name, _, state) in &entries {
        assert_eq!(state["id"], id.as_str(), "{name}");
        assert_eq!(
            state["bundle"],
            b.path().to_string_lossy().as_ref(),
            "{name}"
        );
        assert_eq!(state["annotations"]["org.example/k"], "v", "{name}");
    }
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn hook_args_env_and_timeout() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    let out = b.path().join("out");
    b.edit(|c| {
        c["hooks"] = json!({"createRuntime": [{
            "path": "/bin/sh",
            "args": ["myname", "-c", format!("tr '\\0' ' ' < /proc/$$/cmdline > {o}; echo \" $FOO\" >> {o}", o = out.display()), "arg1"],
            "env": ["FOO=bar"]
        }]});
    });
    let id = unique_id("hargs");
    let (code, _, err) = skiff.run_container(&b, &id);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("myname -c ") && text.ends_with(" arg1  bar\n"),
        "{text:?}"
    );
    assert_nothing_left(&skiff, &id, &b);

    b.edit(|c| {
        c["hooks"] =
            json!({"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]})
    });
    let started = std::time::Instant::now();
    let (code, _, err) = skiff.run_container(&b, &id);
    assert_ne!(code, 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert!(
        err.contains("hooks.prestart[0]") && err.contains("timed out"),
        "{err}"
    );
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn a_failing_create_time_hook_fails_create_and_leaves_nothing() {
    for stage in ["prestart", "createRuntime", "createContainer"] {
        let skiff = Skiff::new();
        let mut b = Bundle::new(&["sleep", "1000"]);
        b.edit(|c| {
            c["hooks"] = json!({stage: [{"path": "/bin/sh", "args": ["sh", "-c", "echo hook-broke >&2; exit 3"]}]});
        });
        let id = unique_id("hfail");
        let err = skiff.fails_detached(&["create", "--bundle", &b.path().to_string_lossy(), &id]);
        assert!(
            err.contains(&format!("hooks.{stage}[0]")) && err.contains("hook-broke"),
            "{stage}: {err}"
        );
        assert_nothing_left(&skiff, &id, &b);
    }
}

#[test]
fn a_failing_start_container_hook_fails_start() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "echo ran > /tmp/ran"]);
    b.edit(|c| {
        c["root"]["readonly"] = json!(false);
        c["hooks"] = json!({"startContainer": [{"path": "/bin/false"}]});
    });
    let id = unique_id("hstart");
    skiff.create(&b, &id);
    let err = skiff.fails(&["start", &id]);
    assert!(err.contains("hooks.startContainer[0]"), "{err}");
    assert!(
        !b.rootfs().join("tmp/ran").exists(),
        "the process ran despite the failed hook"
    );
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    skiff.ok(&["delete", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn poststart_and_poststop_failures_are_warnings() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    let marker = b.path().join("second-ran");
    b.edit(|c| {
        c["hooks"] = json!({
            "poststart": [{"path": "/bin/false"}, {"path": "/bin/touch", "args": ["touch", marker.to_string_lossy()]}],
            "poststop": [{"path": "/bin/false"}]
        });
    });
    let id = unique_id("hwarn");
    skiff.create(&b, &id);
    let out = skiff.run(&["start", &id]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning"),
        "no warning logged"
    );
    assert!(
        marker.exists(),
        "the hooks after a failed poststart hook must still run"
    );
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    let out = skiff.run(&["delete", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("hooks.poststop[0]"));
    assert_nothing_left(&skiff, &id, &b);
}
