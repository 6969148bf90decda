//! `linux.resources` on this host's cgroup v1 hierarchies: values seen from inside the
//! container (its read-only /sys/fs/cgroup view) and from the host's cgroupfs, limits
//! that are enforced, errors that fail `create` with nothing left behind, and where
//! `linux.cgroupsPath` puts the cgroup.

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const MIB: i64 = 1 << 20;

fn set_resources(c: &mut Value, resources: Value) {
    let obj = resources.as_object().unwrap();
    for (k, v) in obj {
        c["linux"]["resources"][k] = v.clone();
    }
}

/// The cgroup of `pid` in the v1 hierarchy holding `ctrl`, as a host path.
fn host_cgroup_dir(pid: i32, ctrl: &str) -> PathBuf {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let line = text
        .lines()
        .find(|l| l.split(':').nth(1).unwrap().split(',').any(|c| c == ctrl))
        .unwrap_or_else(|| panic!("{ctrl} not in /proc/{pid}/cgroup: {text}"));
    let path = line.splitn(3, ':').nth(2).unwrap();
    Path::new("/sys/fs/cgroup")
        .join(ctrl)
        .join(path.trim_start_matches('/'))
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}/{file}: {e}", dir.display()))
        .trim()
        .to_string()
}

/// Creates a container running `script`, hands its init pid to `check` while it waits
/// at the barrier, then starts it and returns its stdout once it has exited and been
/// deleted (nothing may be left).
fn create_check_run(resources: Value, script: &str, check: impl FnOnce(i32)) -> String {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", script]);
    b.edit(|c| set_resources(c, resources));
    let id = unique_id("cg");
    skiff.create(&b, &id);
    let pid = skiff.state(&id)["pid"].as_i64().unwrap() as i32;
    check(pid);
    skiff.ok(&["start", &id]);
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    skiff.ok(&["delete", &id]);
    assert_nothing_left(&skiff, &id, &b);
    std::fs::read_to_string(b.path().join(format!("{id}.out"))).unwrap()
}

/// `key=value` lines printed by the container.
fn values(out: &str) -> std::collections::HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A shell line printing `file=<content>` for each cgroup file below /sys/fs/cgroup.
fn print_files(files: &[&str]) -> String {
    files
        .iter()
        .map(|f| format!("echo {f}=$(cat /sys/fs/cgroup/{f});"))
        .collect()
}

#[test]
fn memory_limits_are_set_inside_and_on_the_host() {
    let res = json!({"memory": {
        "limit": 64 * MIB, "reservation": 32 * MIB, "swap": 96 * MIB,
        "kernelTCP": 16 * MIB, "swappiness": 10, "disableOOMKiller": true, "useHierarchy": true,
        "checkBeforeUpdate": true
    }});
    let files = [
        "memory/memory.limit_in_bytes",
        "memory/memory.soft_limit_in_bytes",
        "memory/memory.memsw.limit_in_bytes",
        "memory/memory.kmem.tcp.limit_in_bytes",
        "memory/memory.swappiness",
    ];
    let expect = [64 * MIB, 32 * MIB, 96 * MIB, 16 * MIB, 10];
    let out = create_check_run(res, &print_files(&files), |pid| {
        let dir = host_cgroup_dir(pid, "memory");
        for (f, want) in files.iter().zip(expect) {
            let name = f.trim_start_matches("memory/");
            assert_eq!(read(&dir, name), want.to_string(), "host {name}");
        }
        assert!(read(&dir, "memory.oom_control").contains("oom_kill_disable 1"));
    });
    let inside = values(&out);
    for (f, want) in files.iter().zip(expect) {
        assert_eq!(inside[*f], want.to_string(), "inside {f}: {out}");
    }
}

#[test]
fn kernel_memory_is_accepted() {
    // This kernel takes the write and ignores it (the suite's kmem assertions fail for
    // every runtime here); the container must still run.
    let skiff = Skiff::new();
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        set_resources(
            c,
            json!({"memory": {"limit": 64 * MIB, "kernel": 64 * MIB}}),
        )
    });
    assert_eq!(code, 0, "{err}");
}

#[test]
fn cpu_values_are_set_inside_and_on_the_host() {
    let res = json!({"cpu": {
        "shares": 512, "quota": 50000, "period": 100000, "burst": 10000,
        "realtimeRuntime": 10000, "realtimePeriod": 1000000, "cpus": "0", "mems": "0"
    }});
    let files = [
        "cpu/cpu.shares",
        "cpu/cpu.cfs_quota_us",
        "cpu/cpu.cfs_period_us",
        "cpu/cpu.cfs_burst_us",
        "cpu/cpu.rt_runtime_us",
        "cpu/cpu.rt_period_us",
        "cpuset/cpuset.cpus",
        "cpuset/cpuset.mems",
    ];
    let expect = [
        "512", "50000", "100000", "10000", "10000", "1000000", "0", "0",
    ];
    let out = create_check_run(res, &print_files(&files), |pid| {
        for (f, want) in files.iter().zip(expect) {
            let (ctrl, name) = f.split_once('/').unwrap();
            assert_eq!(read(&host_cgroup_dir(pid, ctrl), name), want, "host {f}");
        }
    });
    let inside = values(&out);
    for (f, want) in files.iter().zip(expect) {
        assert_eq!(inside[*f], want, "inside {f}: {out}");
    }
}

#[test]
fn cpu_idle_is_set() {
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["cat", "/sys/fs/cgroup/cpu/cpu.idle"], |c| {
        set_resources(c, json!({"cpu": {"idle": 1}}))
    });
    assert_eq!((code, out.trim()), (0, "1"), "{err}");
}

#[test]
fn unset_values_write_nothing() {
    // docker's zeros and "-1 as uint64" swappiness, an empty cpu object (the suite's
    // testEmptyCPU): the container gets the parent's defaults.
    let skiff = Skiff::new();
    let script = print_files(&[
        "cpu/cpu.shares",
        "memory/memory.swappiness",
        "pids/pids.max",
    ]);
    let (code, out, err) = skiff.exec_in(&["sh", "-c", &script], |c| {
        set_resources(
            c,
            json!({"cpu": {"shares": 0}, "blockIO": {"weight": 0}, "pids": {"limit": 0},
                   "memory": {"swappiness": u64::MAX}, "hugepageLimits": [], "unified": {}}),
        )
    });
    assert_eq!(code, 0, "{err}");
    let v = values(&out);
    assert_eq!(v["cpu/cpu.shares"], "1024");
    assert_eq!(v["pids/pids.max"], "max");
    let own = host_cgroup_dir(std::process::id() as i32, "memory");
    assert_eq!(
        v["memory/memory.swappiness"],
        read(&own, "memory.swappiness")
    );
}

#[test]
fn podman_style_limits() {
    // podman --memory 64m --cpus 0.5 (pids.limit 2048 always); a negative pids limit
    // means "max".
    let skiff = Skiff::new();
    let script = print_files(&[
        "memory/memory.limit_in_bytes",
        "memory/memory.memsw.limit_in_bytes",
        "pids/pids.max",
        "cpu/cpu.cfs_quota_us",
        "cpu/cpu.cfs_period_us",
    ]);
    let (code, out, err) = skiff.exec_in(&["sh", "-c", &script], |c| {
        set_resources(
            c,
            json!({"pids": {"limit": 2048}, "memory": {"limit": 67108864, "swap": 134217728},
                   "cpu": {"quota": 50000, "period": 100000}}),
        )
    });
    assert_eq!(code, 0, "{err}");
    let v = values(&out);
    assert_eq!(v["memory/memory.limit_in_bytes"], "67108864");
    assert_eq!(v["memory/memory.memsw.limit_in_bytes"], "134217728");
    assert_eq!(v["pids/pids.max"], "2048");
    assert_eq!(v["cpu/cpu.cfs_quota_us"], "50000");
    assert_eq!(v["cpu/cpu.cfs_period_us"], "100000");
    let (code, out, _) = skiff.exec_in(&["cat", "/sys/fs/cgroup/pids/pids.max"], |c| {
        set_resources(c, json!({"pids": {"limit": -1}}))
    });
    assert_eq!((code, out.trim()), (0, "max"));
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let skiff = Skiff::new();
    // The shell is one task, so 19 sleeps fit under 20; busybox sh gives up at the first
    // fork that fails (exit 2), and its PID namespace dies with it.
    let script =
        "i=0; while [ $i -lt 40 ]; do sleep 10 & i=$((i+1)); echo started=$i; done; echo all";
    let (code, out, err) = skiff.exec_in(&["sh", "-c", script], |c| {
        set_resources(c, json!({"pids": {"limit": 20}}))
    });
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("can't fork"), "{err}");
    assert_eq!(out.lines().last(), Some("started=19"), "{out}");
}

#[test]
fn memory_limit_oom_kills_a_big_allocation() {
    let skiff = Skiff::new();
    // dd's 64 MiB buffer cannot fit in 16 MiB (and there is no swap to spill into).
    let script = "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo rc=$?; \
                  grep oom_kill /sys/fs/cgroup/memory/memory.oom_control";
    let (code, out, err) = skiff.exec_in(&["sh", "-c", script], |c| {
        set_resources(c, json!({"memory": {"limit": 16 * MIB, "swap": 16 * MIB}}))
    });
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rc=137"), "{out}");
    assert!(out.contains("oom_kill 1"), "{out}");
}

/// `create` fails with a message containing every `needles`, and leaves nothing.
fn create_fails(resources: Value, needles: &[&str]) {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| set_resources(c, resources));
    let id = unique_id("cgerr");
    let err = skiff.fails_detached(&["create", "--bundle", b.path().to_str().unwrap(), &id]);
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn missing_controllers_are_clear_errors() {
    create_fails(
        json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}),
        &[
            "linux.resources.hugepageLimits: the hugetlb cgroup controller is not available",
            "bound to the cgroup v2 hierarchy at /sys/fs/cgroup/unified",
        ],
    );
    create_fails(
        json!({"network": {"classID": 1048577}}),
        &["linux.resources.network.classID: the net_cls cgroup controller is not available"],
    );
    create_fails(
        json!({"network": {"priorities": [{"name": "lo", "priority": 1}]}}),
        &["linux.resources.network.priorities: the net_prio cgroup controller is not available"],
    );
    create_fails(
        json!({"rdma": {"mlx5_1": {"hcaHandles": 3}}}),
        &["linux.resources.rdma.mlx5_1: the rdma cgroup controller is not available"],
    );
    create_fails(
        json!({"unified": {"memory.high": "1000000"}}),
        &["linux.resources.unified.memory.high: cgroup v2 files cannot be set"],
    );
}

#[test]
fn blkio_weight_goes_to_bfq_and_leaf_weight_is_a_clear_error() {
    // BFQ is built in (blkio.bfq.weight in every non-root cgroup) though no disk uses it;
    // CFQ, and with it blkio.weight and blkio.leaf_weight, is gone since Linux 5.0.
    let skiff = Skiff::new();
    let (code, out, err) = skiff.exec_in(&["cat", "/sys/fs/cgroup/blkio/blkio.bfq.weight"], |c| {
        set_resources(c, json!({"blockIO": {"weight": 500}}))
    });
    assert_eq!((code, out.trim()), (0, "500"), "{err}");
    create_fails(
        json!({"blockIO": {"leafWeight": 300}}),
        &[
            "linux.resources.blockIO.leafWeight: write \"300\" to /sys/fs/cgroup/blkio/",
            "/blkio.leaf_weight: No such file or directory (os error 2)",
            "(leaf weights exist only with CFQ, gone since Linux 5.0)",
        ],
    );
}

#[test]
fn blkio_throttle_is_set() {
    // Throttling needs no weight scheduler, only a real block device.
    let Some(disk) = std::fs::read_dir("/sys/block")
        .unwrap()
        .flatten()
        .map(|e| read(&e.path(), "dev"))
        .find(|d| !d.starts_with("7:") && !d.starts_with("1:"))
    else {
        eprintln!("no block device: skipped");
        return;
    };
    let (major, minor) = disk.split_once(':').unwrap();
    check_throttle(
        &Skiff::new(),
        major.parse().unwrap(),
        minor.parse().unwrap(),
    );
}

fn check_throttle(skiff: &Skiff, major: u32, minor: u32) {
    let (code, out, err) = skiff.exec_in(
        &["cat", "/sys/fs/cgroup/blkio/blkio.throttle.read_bps_device"],
        |c| {
            set_resources(
                c,
                json!({"blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}]}}),
            )
        },
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("{major}:{minor} 1048576"));
}

#[test]
fn bad_values_are_rejected_before_the_container_exists() {
    create_fails(
        json!({"cpu": {"cpus": "0-x"}}),
        &["linux.resources.cpu.cpus: \"0-x\" is not a list"],
    );
    create_fails(
        json!({"cpu": {"shares": 1}}),
        &["linux.resources.cpu.shares: 1 is out of the kernel's range 2-262144"],
    );
    create_fails(
        json!({"memory": {"limit": 64 * MIB, "swap": 32 * MIB}}),
        &["linux.resources.memory.swap: memory+swap limit 33554432 is below the memory limit 67108864"],
    );
    create_fails(
        json!({"memory": {"swappiness": 101}}),
        &["linux.resources.memory.swappiness: 101 is out of range 0-100"],
    );
    create_fails(
        json!({"cpu": {"quota": 50000, "burst": 60000}}),
        &["linux.resources.cpu.burst: 60000 µs exceeds the quota of 50000 µs"],
    );
}

#[test]
fn kernel_refusals_fail_create_cleanly() {
    // Valid syntax, but not a CPU of this machine: the kernel says EINVAL after the
    // cgroup exists; create tears everything down.
    let cpus = std::fs::read_to_string("/sys/fs/cgroup/cpuset/cpuset.effective_cpus").unwrap();
    create_fails(
        json!({"cpu": {"cpus": "1000"}}),
        &[
            "linux.resources.cpu.cpus: write \"1000\" to /sys/fs/cgroup/cpuset/",
            "/cpuset.cpus: Numerical result out of range (os error 34)",
            &format!("(the parent cgroup allows only {:?})", cpus.trim()),
        ],
    );
    // memory.use_hierarchy can no longer be turned off (Linux 5.16).
    create_fails(
        json!({"memory": {"useHierarchy": false}}),
        &[
            "linux.resources.memory.useHierarchy: write \"0\" to ",
            "Invalid argument",
        ],
    );
}

/// skiff's own cgroup in each hierarchy: (controller dir name, path inside it).
fn own_cgroups() -> Vec<(String, String)> {
    std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, ':');
            let (_, ctrls, path) = (p.next()?, p.next()?, p.next()?);
            let dir = match ctrls {
                "" => return None,
                "name=systemd" => "systemd".to_string(),
                c => c.to_string(),
            };
            Some((dir, path.to_string()))
        })
        .filter(|(dir, _)| Path::new("/sys/fs/cgroup").join(dir).exists())
        .collect()
}

/// Runs a container with `cgroups_path` and checks, for every hierarchy, that its init
/// was in `expected(own path)` and that delete removed the directories it created.
fn check_cgroups_path(cgroups_path: Option<&str>, expected: impl Fn(&str, &str) -> String) {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    let id = unique_id("cgpath");
    if let Some(p) = cgroups_path {
        let p = p.replace("{id}", &id);
        b.edit(|c| c["linux"]["cgroupsPath"] = json!(p));
    }
    skiff.create(&b, &id);
    let pid = skiff.state(&id)["pid"].as_i64().unwrap() as i32;
    let init_cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let mut created = Vec::new();
    for (dir, own) in own_cgroups() {
        let want = expected(&own, &id);
        let line = format!(":{want}");
        assert!(
            init_cgroups.lines().any(|l| l.ends_with(&line)
                && l.contains(&format!(":{}:", dir.replace("systemd", "name=systemd")))),
            "{dir}: init not in {want}: {init_cgroups}"
        );
        created.push(
            Path::new("/sys/fs/cgroup")
                .join(&dir)
                .join(want.trim_start_matches('/')),
        );
    }
    skiff.ok(&["start", &id]);
    assert!(wait_for(|| skiff.state(&id)["status"] == "stopped"));
    skiff.ok(&["delete", &id]);
    for dir in created {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn cgroups_path_default_is_the_id_below_skiffs_own_cgroup() {
    check_cgroups_path(None, |own, id| {
        format!("{}/{id}", own.trim_end_matches('/'))
    });
}

#[test]
fn cgroups_path_relative_is_below_skiffs_own_cgroup_and_parents_go_too() {
    check_cgroups_path(Some("skiff-it-{id}/nested/ctr"), |own, id| {
        format!("{}/skiff-it-{id}/nested/ctr", own.trim_end_matches('/'))
    });
    // The parents skiff created are gone as well.
    for (dir, own) in own_cgroups() {
        let parent = Path::new("/sys/fs/cgroup")
            .join(dir)
            .join(own.trim_start_matches('/'));
        let left: Vec<_> = std::fs::read_dir(&parent)
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("skiff-it-cgpath")
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

#[test]
fn cgroups_path_absolute_is_below_the_hierarchy_root() {
    check_cgroups_path(Some("/skiff-it-{id}/a/b"), |_, id| {
        format!("/skiff-it-{id}/a/b")
    });
    assert_no_cgpath_dirs_left();
}

#[test]
fn delete_keeps_parents_skiff_did_not_create() {
    let skiff = Skiff::new();
    let id = unique_id("cgkeep");
    let parent = PathBuf::from(format!("/sys/fs/cgroup/pids/skiff-it-pre-{id}"));
    std::fs::create_dir(&parent).unwrap();
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("/skiff-it-pre-{id}/ctr"));
        set_resources(c, json!({"pids": {"limit": 10}}));
    });
    let (code, _, err) = skiff.run_container(&b, &id);
    let kept = parent.exists() && !parent.join("ctr").exists();
    // Clean up before asserting.
    let _ = std::fs::remove_dir(&parent);
    for (dir, _) in own_cgroups() {
        let p = Path::new("/sys/fs/cgroup")
            .join(&dir)
            .join(format!("skiff-it-pre-{id}"));
        if dir != "pids" {
            assert!(!p.exists(), "{} left behind", p.display());
        }
    }
    assert_eq!(code, 0, "{err}");
    assert!(
        kept,
        "the pre-existing parent must stay, the container's dir must go"
    );
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn failed_create_removes_created_parents() {
    let skiff = Skiff::new();
    let id = unique_id("cgerrp");
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = json!(format!("/skiff-it-{id}/x/y"));
        set_resources(c, json!({"blockIO": {"leafWeight": 100}}));
    });
    let err = skiff.fails_detached(&["create", "--bundle", b.path().to_str().unwrap(), &id]);
    assert!(err.contains("linux.resources.blockIO.leafWeight"), "{err}");
    for (dir, _) in own_cgroups() {
        let p = Path::new("/sys/fs/cgroup")
            .join(dir)
            .join(format!("skiff-it-{id}"));
        assert!(!p.exists(), "{} left behind", p.display());
    }
    assert_nothing_left(&skiff, &id, &b);
}

/// No `skiff-it-cgpath*` directory is left in any of our own cgroups' hierarchies.
fn assert_no_cgpath_dirs_left() {
    for (dir, _) in own_cgroups() {
        let left: Vec<_> = std::fs::read_dir(Path::new("/sys/fs/cgroup").join(dir))
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("skiff-it-cgpath")
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
