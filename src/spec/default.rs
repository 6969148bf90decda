//! The config.json written by `skiff spec`: the same container runc's `runc spec` describes,
//! so bundles move between the two runtimes unchanged.

use serde_json::{json, Value};

const CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// The default spec; with `rootless`, adapted like `runc spec --rootless` for the given
/// host uid/gid: a user namespace mapping them to root, no network namespace, /sys bound
/// from the host, no uid=/gid= mount options and no cgroup resources.
pub fn default_spec(rootless: Option<(u32, u32)>) -> Value {
    let mut spec = json!({
        "ociVersion": crate::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": CAPS, "effective": CAPS, "permitted": CAPS},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "skiff",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    if let Some((uid, gid)) = rootless {
        make_rootless(&mut spec, uid, gid);
    }
    spec
}

fn make_rootless(spec: &mut Value, uid: u32, gid: u32) {
    let linux = &mut spec["linux"];
    if let Some(obj) = linux.as_object_mut() {
        obj.remove("resources");
    }
    let mut namespaces: Vec<Value> = linux["namespaces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|ns| ns["type"] != "network" && ns["type"] != "user")
        .cloned()
        .collect();
    namespaces.push(json!({"type": "user"}));
    linux["namespaces"] = Value::Array(namespaces);
    linux["uidMappings"] = json!([{"containerID": 0, "hostID": uid, "size": 1}]);
    linux["gidMappings"] = json!([{"containerID": 0, "hostID": gid, "size": 1}]);
    let mounts: Vec<Value> = spec["mounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            if m["destination"] == "/sys" {
                return json!({"destination": "/sys", "type": "none", "source": "/sys",
                              "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]});
            }
            let mut m = m.clone();
            if let Some(opts) = m["options"].as_array() {
                let kept: Vec<Value> = opts
                    .iter()
                    .filter(|o| {
                        !o.as_str()
                            .is_some_and(|s| s.starts_with("uid=") || s.starts_with("gid="))
                    })
                    .cloned()
                    .collect();
                m["options"] = Value::Array(kept);
            }
            m
        })
        .collect();
    spec["mounts"] = Value::Array(mounts);
}

#[cfg(test)]
#[path = "tests/default.rs"]
mod tests;
