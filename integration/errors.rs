//! Failures: one clear line naming the field or file and the errno, runc's wording where
//! callers match on it, a JSON error line in --log with --log-format json, and nothing
//! left behind — before anything exists (bad config) and after (setup failures).

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::{json, Value};

/// A change to the default config, for table-driven cases.
type ConfigEdit = Box<dyn Fn(&mut Value)>;

fn create_fails(skiff: &Skiff, b: &Bundle, id: &str) -> String {
    let err = skiff.fails_detached(&["create", "--bundle", &b.path().to_string_lossy(), id]);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one error line expected: {err}"
    );
    assert_nothing_left(skiff, id, b);
    err
}

#[test]
fn malformed_config_is_rejected_before_anything_is_created() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["true"]);
    let id = unique_id("bad");
    std::fs::write(
        b.path().join("config.json"),
        "{\"ociVersion\": \"1.0.2\",\n \"process\": }",
    )
    .unwrap();
    let err = create_fails(&skiff, &b, &id);
    assert!(err.contains("config.json: invalid JSON at line 2"), "{err}");
    std::fs::remove_file(b.path().join("config.json")).unwrap();
    let err = create_fails(&skiff, &b, &id);
    assert!(
        err.contains("config.json") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn wrong_types_and_bad_values_name_the_field() {
    let skiff = Skiff::new();
    let cases: Vec<(ConfigEdit, &str)> = vec![
        (
            Box::new(|c| c["process"]["user"]["uid"] = json!("root")),
            "process.user.uid",
        ),
        (
            Box::new(|c| c["process"]["args"] = json!("sh")),
            "process.args",
        ),
        (
            Box::new(|c| c["linux"]["namespaces"][0]["type"] = json!("bogus")),
            "linux.namespaces[0].type",
        ),
        (
            Box::new(|c| c["process"]["rlimits"][0]["type"] = json!("RLIMIT_BOGUS")),
            "process.rlimits[0].type",
        ),
        (Box::new(|c| c["ociVersion"] = json!("2.0.0")), "ociVersion"),
        (
            Box::new(|c| c["process"]["args"] = json!([])),
            "process.args",
        ),
        (
            Box::new(|c| c["process"]["oomScoreAdj"] = json!(5000)),
            "process.oomScoreAdj",
        ),
        (Box::new(|c| c["root"]["path"] = json!("nope")), "root.path"),
        (
            Box::new(|c| c["mounts"][0]["options"] = json!(["bogusopt"])),
            "mounts[0]",
        ),
        (
            Box::new(|c| c["mounts"][1]["options"] = json!(["rbind", "bogusopt"])),
            "bogusopt",
        ),
        (
            Box::new(|c| c["linux"]["sysctl"] = json!({"vm.swappiness": "10"})),
            "linux.sysctl.vm.swappiness",
        ),
        (
            Box::new(|c| c["hooks"] = json!({"prestart": [{"path": "relative/hook"}]})),
            "hooks.prestart[0].path",
        ),
        (
            Box::new(|c| c["linux"]["intelRdt"] = json!({"closID": "x"})),
            "linux.intelRdt",
        ),
        (
            Box::new(|c| {
                c["linux"]["namespaces"] = json!([{"type": "pid"}, {"type": "pid"}]);
            }),
            "duplicate",
        ),
    ];
    for (i, (edit, want)) in cases.iter().enumerate() {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| edit(c));
        let id = unique_id("val");
        let err = create_fails(&skiff, &b, &id);
        assert!(err.contains(want), "case {i}: want {want:?} in {err}");
    }
}

#[test]
fn unsupported_fields_are_errors_unknown_ones_are_ignored() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["linux"]["memoryPolicy"] = json!({"mode": "MPOL_BIND", "nodes": "0"}));
    let err = create_fails(&skiff, &b, &unique_id("unsup"));
    assert!(
        err.contains("linux.memoryPolicy") && err.contains("not supported"),
        "{err}"
    );
    // runtime-spec: unknown properties MUST be ignored.
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        c["org.example.unknown"] = json!({"x": 1});
        c["process"]["somethingNew"] = json!(true);
    });
    assert_eq!(code, 0, "{err}");
}

#[test]
fn setup_failures_after_the_clone_leave_nothing() {
    let skiff = Skiff::new();
    let cases: Vec<(ConfigEdit, &str)> = vec![
        // A bind source that does not exist.
        (
            Box::new(|c| {
                let mut m = c["mounts"].as_array().unwrap().clone();
                m.push(json!({"destination": "/data", "type": "bind", "source": "/nonexistent-src", "options": ["rbind"]}));
                c["mounts"] = json!(m);
            }),
            "mounts[7]",
        ),
        // A filesystem option the kernel rejects: named by the kernel's own message.
        (
            Box::new(|c| c["mounts"][1]["options"] = json!(["nosuid", "mode=zzz"])),
            "mode",
        ),
        // A cwd that does not exist in the rootfs.
        (
            Box::new(|c| c["process"]["cwd"] = json!("/does/not/exist")),
            "process.cwd",
        ),
        // An unknown user's group (setgroups works; a uid the kernel refuses is harder).
        (
            Box::new(|c| c["process"]["args"] = json!(["/bin/does-not-exist"])),
            "process.args[0]",
        ),
        // A hostname without... a UTS namespace is caught earlier; use a bad sysctl value.
        (
            Box::new(|c| c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "nonsense"})),
            "linux.sysctl.net.ipv4.ip_forward",
        ),
    ];
    for (i, (edit, want)) in cases.iter().enumerate() {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| edit(c));
        let id = unique_id("late");
        let mounts_before = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .count();
        let err = create_fails(&skiff, &b, &id);
        assert!(err.contains(want), "case {i}: want {want:?} in {err}");
        let mounts_after = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .count();
        assert_eq!(
            mounts_before, mounts_after,
            "case {i}: host mount table changed"
        );
    }
}

#[test]
fn json_log_gets_one_error_object_per_failure() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["process"]["cwd"] = json!("/does/not/exist"));
    let log = b.path().join("log.json");
    let id = unique_id("jlog");
    let status = skiff
        .cmd()
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", "create", "--bundle"])
        .arg(b.path())
        .arg(&id)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "without --debug only the error object: {text}"
    );
    let v: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["level"], "error");
    assert!(v["msg"].as_str().unwrap().contains("process.cwd"));
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn runc_wording_for_what_callers_match() {
    let skiff = Skiff::new();
    for args in [
        vec!["state", "ghost"],
        vec!["start", "ghost"],
        vec!["kill", "ghost", "9"],
        vec!["delete", "ghost"],
    ] {
        let err = skiff.fails(&args);
        assert!(err.contains("container does not exist"), "{args:?}: {err}");
    }
    let b = Bundle::new(&["true"]);
    let id = unique_id("stopped");
    skiff.create(&b, &id);
    skiff.ok(&["start", &id]);
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    assert!(skiff
        .fails(&["kill", &id])
        .contains("container not running"));
    assert!(skiff
        .fails(&["kill", "--all", &id, "9"])
        .contains("container not running"));
    assert!(skiff
        .fails(&["kill", &id, "NOSIG"])
        .contains("invalid signal"));
    skiff.ok(&["delete", &id]);
    assert_nothing_left(&skiff, &id, &b);
}
