//! Unit tests of `cgroups/memory.rs`.

use super::*;
use serde_json::json;

fn mem(v: serde_json::Value) -> LinuxMemory {
    serde_json::from_value(v).unwrap()
}

#[test]
fn swap_converts_to_v2_swap_only() {
    assert_eq!(swap_max_v2(0, 0), Ok(None));
    assert_eq!(swap_max_v2(0, 100), Ok(None));
    assert_eq!(swap_max_v2(0, -1), Ok(Some("max".into())));
    assert_eq!(swap_max_v2(-1, 100), Ok(Some("max".into())));
    assert_eq!(swap_max_v2(300, 100), Ok(Some("200".into())));
    // memory+swap == memory: no swap at all.
    assert_eq!(swap_max_v2(100, 100), Ok(Some("0".into())));
    assert_eq!(swap_max_v2(300, -1), Ok(Some("300".into())));
    assert!(swap_max_v2(300, 0).is_err());
    assert!(swap_max_v2(50, 100).is_err());
    assert!(swap_max_v2(50, -5).is_err());
}

#[test]
fn v2_bytes_maps_unlimited_to_max() {
    assert_eq!(v2_bytes(0), None);
    assert_eq!(v2_bytes(-1).as_deref(), Some("max"));
    assert_eq!(v2_bytes(4096).as_deref(), Some("4096"));
}

#[test]
fn validation_names_the_field() {
    let e = validate(&mem(json!({"limit": -2}))).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("linux.resources.memory.limit: -2"),
        "{e}"
    );
    let e = validate(&mem(json!({"limit": 200, "swap": 100}))).unwrap_err();
    assert!(
        e.to_string().starts_with("linux.resources.memory.swap:"),
        "{e}"
    );
    let e = validate(&mem(json!({"swappiness": 101}))).unwrap_err();
    assert!(
        e.to_string()
            .contains("swappiness: 101 is out of range 0-100"),
        "{e}"
    );
    // docker's "unset" swappiness (-1 as uint64) and zeros are fine.
    validate(&mem(json!({"swappiness": u64::MAX, "limit": 0}))).unwrap();
    assert_eq!(
        wanted(&mem(
            json!({"swappiness": u64::MAX, "checkBeforeUpdate": true})
        )),
        None
    );
    assert_eq!(
        wanted(&mem(json!({"disableOOMKiller": false, "swap": 5}))).as_deref(),
        Some("linux.resources.memory.swap")
    );
}

/// A fake v1 memory cgroup: plain files with the kernel's initial values.
fn fake_v1(limit: &str, memsw: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (f, v) in [
        (LIMIT, limit),
        (MEMSW, memsw),
        ("memory.kmem.limit_in_bytes", "9223372036854771712"),
        ("memory.kmem.tcp.limit_in_bytes", "9223372036854771712"),
        ("memory.soft_limit_in_bytes", "9223372036854771712"),
        ("memory.oom_control", "oom_kill_disable 0"),
        ("memory.swappiness", "60"),
        ("memory.use_hierarchy", "1"),
    ] {
        std::fs::write(d.path().join(f), v).unwrap();
    }
    d
}

#[test]
fn v1_writes_every_file() {
    let d = fake_v1("9223372036854771712", "9223372036854771712");
    let m = mem(
        json!({"limit": 50593792, "reservation": 40000000, "swap": 60000000,
        "kernel": 50593792, "kernelTCP": 4096000, "swappiness": 10, "disableOOMKiller": true}),
    );
    set_v1(d.path(), &m).unwrap();
    let r = |f| file::read(d.path(), f).unwrap();
    assert_eq!(r(LIMIT), "50593792");
    assert_eq!(r(MEMSW), "60000000");
    assert_eq!(r("memory.kmem.limit_in_bytes"), "50593792");
    assert_eq!(r("memory.kmem.tcp.limit_in_bytes"), "4096000");
    assert_eq!(r("memory.soft_limit_in_bytes"), "40000000");
    assert_eq!(r("memory.oom_control"), "1");
    assert_eq!(r("memory.swappiness"), "10");
    assert_eq!(r("memory.use_hierarchy"), "1", "untouched when unset");
}

#[test]
fn v1_unlimited_memory_frees_swap_and_swap_needs_a_limit() {
    let d = fake_v1("1000", "2000");
    set_v1(d.path(), &mem(json!({"limit": -1}))).unwrap();
    assert_eq!(file::read(d.path(), MEMSW).unwrap(), "-1");
    assert_eq!(file::read(d.path(), LIMIT).unwrap(), "-1");
    let e = set_v1(d.path(), &mem(json!({"swap": 5000}))).unwrap_err();
    assert!(
        e.to_string().starts_with("linux.resources.memory.swap:"),
        "{e}"
    );
}

#[test]
fn v1_missing_memsw_is_a_clear_error() {
    let d = fake_v1("9223372036854771712", "x");
    std::fs::remove_file(d.path().join(MEMSW)).unwrap();
    let e = set_v1(d.path(), &mem(json!({"limit": 1000, "swap": 2000}))).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("(swap accounting is disabled in this kernel)"),
        "{e}"
    );
}

#[test]
fn v2_writes_max_swap_and_low() {
    let d = tempfile::tempdir().unwrap();
    for f in ["memory.max", "memory.swap.max", "memory.low"] {
        std::fs::write(d.path().join(f), "max").unwrap();
    }
    set_v2(
        d.path(),
        &mem(json!({"limit": 1000, "swap": 3000, "reservation": 500})),
    )
    .unwrap();
    let r = |f| file::read(d.path(), f).unwrap();
    assert_eq!(r("memory.max"), "1000");
    assert_eq!(r("memory.swap.max"), "2000");
    assert_eq!(r("memory.low"), "500");
    // No swap accounting: limiting swap to 0 or max is moot, anything else an error.
    std::fs::remove_file(d.path().join("memory.swap.max")).unwrap();
    set_v2(d.path(), &mem(json!({"limit": 1000, "swap": 1000}))).unwrap();
    assert!(set_v2(d.path(), &mem(json!({"limit": 1000, "swap": 2000}))).is_err());
    let e = set_v2(d.path(), &mem(json!({"useHierarchy": false}))).unwrap_err();
    assert!(e.to_string().contains("always hierarchical"), "{e}");
}
