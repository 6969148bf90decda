//! Namespaces, checked from inside the container: new ones differ from the host's,
//! joined ones are the very namespace given by path, user namespace maps are in place
//! before anything runs, hostname, domainname and time offsets apply.

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::{json, Value};
use std::process::{Command, Stdio};

fn host_ns(name: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn set_namespaces(c: &mut Value, list: Value) {
    c["linux"]["namespaces"] = list;
}

#[test]
fn every_new_namespace_differs_from_the_host() {
    let skiff = Skiff::new();
    let script = "for n in pid net ipc uts mnt cgroup time user; do echo $n $(readlink /proc/self/ns/$n); done";
    let (code, out, err) = skiff.exec_in(&["sh", "-c", script], |c| {
        set_namespaces(
            c,
            json!([{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"},{"type":"time"},{"type":"user"}]),
        );
        c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
        // /sys needs a network namespace owned by our user namespace (it is) — keep it.
    });
    assert_eq!(code, 0, "{err}");
    for line in out.lines() {
        let (name, inside) = line.split_once(' ').unwrap();
        assert_ne!(inside, host_ns(name), "{name} namespace is the host's");
    }
    assert_eq!(out.lines().count(), 8, "{out}");
}

#[test]
fn pid_namespace_makes_the_process_pid_1() {
    let skiff = Skiff::new();
    let (code, out, _) = skiff.exec_in(&["sh", "-c", "echo $$"], |_| {});
    assert_eq!((code, out.as_str()), (0, "1\n"));
}

#[test]
fn user_namespace_maps_are_written_before_the_process_runs() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox",
        ],
        |c| {
            let mut ns = c["linux"]["namespaces"].as_array().unwrap().clone();
            ns.push(json!({"type": "user"}));
            c["linux"]["namespaces"] = json!(ns);
            c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 200000, "size": 1000}]);
            c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 300000, "size": 1000}]);
        },
    );
    assert_eq!(code, 0, "{err}");
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        &words[..6],
        ["0", "200000", "1000", "0", "300000", "1000"],
        "{out}"
    );
    assert_eq!(words[6], "0", "process is root in its user namespace");
    // Host root (uid 0) owns the rootfs and is not mapped: it shows as the overflow uid.
    assert_eq!(words[7], "65534");
}

#[test]
fn hostname_and_domainname() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(
        &["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"],
        |c| {
            c["hostname"] = json!("box1");
            c["domainname"] = json!("example.test");
        },
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "box1\nexample.test\n");
    // Without a uts namespace, setting a hostname would change the host's: refused.
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        remove_namespace(c, "uts");
    });
    let id = unique_id("uts");
    let (code, _, err) = skiff.run_container(&b, &id);
    assert_ne!(code, 0);
    assert!(err.contains("hostname") && err.contains("uts"), "{err}");
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn time_namespace_offsets() {
    let skiff = Skiff::new();
    let host_uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let (code, out, err) = skiff.exec_in(&["cat", "/proc/uptime"], |c| {
        let mut ns = c["linux"]["namespaces"].as_array().unwrap().clone();
        ns.push(json!({"type": "time"}));
        c["linux"]["namespaces"] = json!(ns);
        c["linux"]["timeOffsets"] =
            json!({"boottime": {"secs": 86400, "nanosecs": 0}, "monotonic": {"secs": 3600}});
    });
    assert_eq!(code, 0, "{err}");
    let inside: f64 = out.split_whitespace().next().unwrap().parse().unwrap();
    assert!(
        inside - host_uptime > 86000.0 && inside - host_uptime < 86800.0,
        "host {host_uptime} inside {inside}"
    );
}

/// A process holding new namespaces, to join by path; killed on drop.
struct NsHolder(std::process::Child);

impl NsHolder {
    fn new(flags: &[&str]) -> NsHolder {
        let forks = flags.contains(&"--fork");
        let mut cmd = Command::new("unshare");
        cmd.args(flags);
        if forks {
            // The forked sleep must not outlive unshare (and hold our stdio).
            cmd.arg("--kill-child");
        }
        let child = cmd
            .args(["sleep", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Wait until sleep runs inside the new namespaces.
        let sleeping = |p: &str| {
            std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "sleep")
        };
        let first_child = || {
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .map(str::to_string)
        };
        assert!(wait_for(|| if forks {
            first_child().is_some_and(|c| sleeping(&c))
        } else {
            sleeping(&pid.to_string())
        }));
        NsHolder(child)
    }

    fn ns(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.0.id())
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn joins_namespaces_by_path() {
    let holder = NsHolder::new(&["--net", "--ipc", "--uts"]);
    let skiff = Skiff::new();
    let script = "for n in net ipc uts; do readlink /proc/self/ns/$n; done";
    let (code, out, err) = skiff.exec_in(&["sh", "-c", script], |c| {
        c.as_object_mut().unwrap().remove("hostname");
        set_namespaces(
            c,
            json!([{"type":"pid"},{"type":"mount"},
                   {"type":"network","path":holder.ns("net")},{"type":"ipc","path":holder.ns("ipc")},{"type":"uts","path":holder.ns("uts")}]),
        );
    });
    assert_eq!(code, 0, "{err}");
    let want: Vec<String> = ["net", "ipc", "uts"]
        .iter()
        .map(|n| {
            std::fs::read_link(holder.ns(n))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
}

#[test]
fn joins_a_user_namespace_by_path_with_others_new() {
    // The slow path: user namespace joined first, then new pid/mount/... owned by it.
    let holder = NsHolder::new(&["--user", "--map-root-user"]);
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(
        &["sh", "-c", "readlink /proc/self/ns/user; echo $$; id -u"],
        |c| {
            let mut ns = c["linux"]["namespaces"].as_array().unwrap().clone();
            ns.push(json!({"type": "user", "path": holder.ns("user")}));
            c["linux"]["namespaces"] = json!(ns);
            // sysfs cannot be mounted by a user namespace that does not own the net namespace
            // it would show... the new network namespace is owned by the joined one: fine.
        },
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        std::fs::read_link(holder.ns("user"))
            .unwrap()
            .to_string_lossy()
    );
    assert_eq!(
        lines[1], "1",
        "new pid namespace inside the joined user namespace"
    );
    assert_eq!(lines[2], "0");
}

#[test]
fn joins_a_pid_namespace_by_path() {
    let holder = NsHolder::new(&["--pid", "--fork", "--mount-proc"]);
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["sh", "-c", "readlink /proc/self/ns/pid"], |c| {
        let ns: Vec<Value> = c["linux"]["namespaces"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["type"] != "pid")
            .cloned()
            .collect::<Vec<_>>();
        let mut ns = ns;
        // unshare --fork: the sleep is the namespace's pid 1, a child of unshare.
        let sleep_pid = std::fs::read_to_string(format!(
            "/proc/{}/task/{}/children",
            holder.0.id(),
            holder.0.id()
        ))
        .unwrap();
        ns.push(json!({"type": "pid", "path": format!("/proc/{}/ns/pid", sleep_pid.trim())}));
        c["linux"]["namespaces"] = json!(ns);
    });
    assert_eq!(code, 0, "{err}");
    let holder_child = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        holder.0.id(),
        holder.0.id()
    ))
    .unwrap();
    let want = std::fs::read_link(format!("/proc/{}/ns/pid", holder_child.trim())).unwrap();
    assert_eq!(out.trim(), want.to_string_lossy());
}

#[test]
fn bad_namespace_paths_are_clear_errors() {
    let skiff = Skiff::new();
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        let mut ns = c["linux"]["namespaces"].as_array().unwrap().clone();
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "network", "path": "/proc/self/ns/ipc"}));
        c["linux"]["namespaces"] = json!(ns);
    });
    assert_ne!(code, 0);
    assert!(
        err.contains("linux.namespaces[") && err.contains("not a net namespace"),
        "{err}"
    );
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        let mut ns = c["linux"]["namespaces"].as_array().unwrap().clone();
        ns.retain(|n| n["type"] != "network");
        ns.push(json!({"type": "network", "path": "/nonexistent/ns"}));
        c["linux"]["namespaces"] = json!(ns);
    });
    assert_ne!(code, 0);
    assert!(
        err.contains("/nonexistent/ns") && err.contains("No such file"),
        "{err}"
    );
}
