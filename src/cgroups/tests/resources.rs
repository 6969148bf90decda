//! Unit tests of `cgroups/resources.rs`.

use super::*;
use serde_json::json;

fn res(v: serde_json::Value) -> LinuxResources {
    serde_json::from_value(v).unwrap()
}

#[test]
fn wanted_lists_each_controller_with_its_field() {
    let r = res(json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 1000},
        "cpu": {"shares": 0, "cpus": "0"},
        "pids": {"limit": 0},
        "blockIO": {"weight": 0},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 1}],
        "network": {"classID": 1},
    }));
    let w = wanted(&r);
    assert_eq!(
        w,
        vec![
            ("memory", "linux.resources.memory.limit".to_string()),
            ("cpuset", "linux.resources.cpu.cpus".to_string()),
            ("hugetlb", "linux.resources.hugepageLimits".to_string()),
            ("net_cls", "linux.resources.network.classID".to_string()),
        ]
    );
    // docker's zeros ask for nothing.
    let docker = res(
        json!({"cpu": {"shares": 0}, "blockIO": {"weight": 0}, "memory": {"swappiness": u64::MAX}}),
    );
    assert!(wanted(&docker).is_empty());
}

#[test]
fn v1_missing_controller_and_unified_are_errors_before_any_write() {
    let paths = CgroupPaths::V1 {
        dirs: Default::default(),
    };
    let e = apply_resources(&paths, Some(&res(json!({"pids": {"limit": 20}}))), &[])
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("linux.resources.pids.limit: the pids cgroup controller is not available: "),
        "{e}"
    );
    let e = apply_resources(
        &paths,
        Some(&res(json!({"unified": {"memory.high": "1"}}))),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "linux.resources.unified.memory.high: cgroup v2 files cannot be set: this host's cgroups are v1"
    );
    // Nothing asked: nothing needed.
    apply_resources(&paths, Some(&res(json!({"cpu": {}, "unified": {}}))), &[]).unwrap();
    apply_resources(&paths, None, &[]).unwrap();
}

#[test]
fn v2_checks_controllers_and_converts() {
    let d = tempfile::tempdir().unwrap();
    let files = [
        ("cgroup.controllers", "cpu memory pids"),
        ("cpu.weight", "100"),
        ("cpu.max", "max 100000"),
        ("memory.max", "max"),
        ("memory.swap.max", "max"),
        ("pids.max", "max"),
    ];
    for (f, v) in files {
        std::fs::write(d.path().join(f), v).unwrap();
    }
    let paths = CgroupPaths::V2 {
        dir: super::super::CgroupDir {
            path: d.path().to_path_buf(),
            created: vec![],
        },
    };
    let r = res(json!({"memory": {"limit": 67108864, "swap": 134217728},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000}, "pids": {"limit": 32}}));
    apply_resources(&paths, Some(&r), &[]).unwrap();
    let read = |f| super::super::file::read(d.path(), f).unwrap();
    assert_eq!(read("memory.max"), "67108864");
    assert_eq!(read("memory.swap.max"), "67108864");
    assert_eq!(read("cpu.max"), "50000 100000");
    assert_eq!(read("cpu.weight"), "100");
    assert_eq!(read("pids.max"), "32");
    let e = apply_resources(&paths, Some(&res(json!({"blockIO": {"weight": 500}}))), &[])
        .unwrap_err()
        .to_string();
    assert_eq!(e, "linux.resources.blockIO.weight: the io cgroup controller is not available: not in the cgroup's cgroup.controllers (cpu memory pids)");
    let e = apply_resources(&paths, None, &super::super::default_rules()).unwrap_err();
    assert!(
        e.to_string().starts_with("linux.resources.devices: "),
        "{e}"
    );
    let e =
        apply_resources(&paths, Some(&res(json!({"network": {"classID": 1}}))), &[]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("linux.resources.network.classID: "),
        "{e}"
    );
}
