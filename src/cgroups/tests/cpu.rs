//! Unit tests of `cgroups/cpu.rs`.

use super::*;
use serde_json::json;

fn cpu(v: serde_json::Value) -> LinuxCpu {
    serde_json::from_value(v).unwrap()
}

#[test]
fn shares_convert_to_weight() {
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1), 1);
    assert_eq!(shares_to_weight(1024), 100);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(shares_to_weight(1 << 20), 10_000);
    // Monotonic over the whole range.
    let mut last = 0;
    for s in (2..=262_144).step_by(97) {
        let w = shares_to_weight(s);
        assert!(w >= last && (1..=10_000).contains(&w), "{s} -> {w}");
        last = w;
    }
}

#[test]
fn cpu_max_line() {
    assert_eq!(cpu_max(0, 0), None);
    assert_eq!(cpu_max(50_000, 100_000).as_deref(), Some("50000 100000"));
    assert_eq!(cpu_max(50_000, 0).as_deref(), Some("50000"));
    assert_eq!(cpu_max(-1, 0).as_deref(), Some("max"));
    assert_eq!(cpu_max(-1, 250_000).as_deref(), Some("max 250000"));
    assert_eq!(cpu_max(0, 250_000).as_deref(), Some("max 250000"));
}

#[test]
fn validation() {
    validate(&cpu(json!({"shares": 0, "quota": -1, "period": 100000}))).unwrap();
    for (bad, field) in [
        (json!({"shares": 1}), "shares"),
        (json!({"shares": 300000}), "shares"),
        (json!({"period": 999}), "period"),
        (json!({"period": 1000001}), "period"),
        (json!({"quota": 10}), "quota"),
        (json!({"quota": 50000, "burst": 60000}), "burst"),
        (
            json!({"realtimeRuntime": 2000, "realtimePeriod": 1000}),
            "realtimeRuntime",
        ),
        (json!({"realtimeRuntime": -3}), "realtimeRuntime"),
        (json!({"idle": 2}), "idle"),
    ] {
        let e = validate(&cpu(bad.clone())).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("linux.resources.cpu.{field}: ")),
            "{bad}: {e}"
        );
    }
    assert_eq!(wanted(&cpu(json!({"shares": 0, "cpus": "0"}))), None);
    assert_eq!(
        wanted(&cpu(json!({"shares": 0, "period": 100000}))).as_deref(),
        Some("linux.resources.cpu.period")
    );
}

fn fake(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (f, v) in files {
        std::fs::write(d.path().join(f), v).unwrap();
    }
    d
}

#[test]
fn v1_writes_shares_bandwidth_and_rt() {
    let d = fake(&[
        ("cpu.shares", "1024"),
        ("cpu.cfs_period_us", "100000"),
        ("cpu.cfs_quota_us", "-1"),
        ("cpu.cfs_burst_us", "0"),
        ("cpu.rt_period_us", "1000000"),
        ("cpu.rt_runtime_us", "0"),
    ]);
    let c = cpu(
        json!({"shares": 2048, "quota": 50000, "period": 500000, "burst": 1000,
        "realtimePeriod": 1000000, "realtimeRuntime": 950000}),
    );
    set_v1(d.path(), &c).unwrap();
    let r = |f| file::read(d.path(), f).unwrap();
    assert_eq!(r("cpu.shares"), "2048");
    assert_eq!(r("cpu.cfs_period_us"), "500000");
    assert_eq!(r("cpu.cfs_quota_us"), "50000");
    assert_eq!(r("cpu.cfs_burst_us"), "1000");
    assert_eq!(r("cpu.rt_runtime_us"), "950000");
    // cpu.idle is absent from this fake cgroup: a clear error naming the field.
    let e = set_v1(d.path(), &cpu(json!({"idle": 1})))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("linux.resources.cpu.idle: write \"1\" to "),
        "{e}"
    );
    assert!(e.ends_with("(SCHED_IDLE groups need Linux 5.15)"), "{e}");
    // shares 0 (docker's "unset") writes nothing.
    set_v1(d.path(), &cpu(json!({"shares": 0}))).unwrap();
    assert_eq!(r("cpu.shares"), "2048");
}

#[test]
fn v2_writes_weight_max_burst_idle() {
    let d = fake(&[
        ("cpu.weight", "100"),
        ("cpu.max", "max 100000"),
        ("cpu.max.burst", "0"),
        ("cpu.idle", "0"),
    ]);
    let c = cpu(json!({"shares": 1024, "quota": 50000, "period": 100000, "burst": 100, "idle": 1}));
    set_v2(d.path(), &c).unwrap();
    let r = |f| file::read(d.path(), f).unwrap();
    assert_eq!(r("cpu.weight"), "100");
    assert_eq!(r("cpu.max"), "50000 100000");
    assert_eq!(r("cpu.max.burst"), "100");
    assert_eq!(r("cpu.idle"), "1");
    let e = set_v2(d.path(), &cpu(json!({"realtimeRuntime": 5}))).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("linux.resources.cpu.realtimeRuntime:"),
        "{e}"
    );
}
