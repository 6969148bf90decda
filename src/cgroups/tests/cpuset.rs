//! Unit tests of `cgroups/cpuset.rs`.

use super::*;
use serde_json::json;

#[test]
fn list_syntax() {
    for good in ["0", "0-1", "0,2,4-7", "0-15:2/4", "12"] {
        assert!(is_list(good), "{good}");
    }
    for bad in [
        "", "a", "1-", "-1", "3-1", "0,,1", " 0", "0-3:0/4", "0-3:5/4", "1:1/2",
    ] {
        assert!(!is_list(bad), "{bad}");
    }
}

#[test]
fn validates_and_writes() {
    let c: LinuxCpu = serde_json::from_value(json!({"cpus": "0-x"})).unwrap();
    let e = validate(&c).unwrap_err().to_string();
    assert!(e.starts_with("linux.resources.cpu.cpus: \"0-x\""), "{e}");
    let c: LinuxCpu = serde_json::from_value(json!({"cpus": "", "mems": "0"})).unwrap();
    assert_eq!(wanted(&c).as_deref(), Some("linux.resources.cpu.mems"));
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("cpuset.mems"), "0-1").unwrap();
    set(d.path(), &c).unwrap();
    assert_eq!(file::read(d.path(), "cpuset.mems").unwrap(), "0");
}
