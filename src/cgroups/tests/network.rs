//! Unit tests of `cgroups/network.rs`.

use super::*;
use serde_json::json;

#[test]
fn lines_and_validation() {
    assert_eq!(ifpriomap_line("eth0", 500), "eth0 500");
    let n: LinuxNetwork = serde_json::from_value(json!({"classID": 1048577,
        "priorities": [{"name": "eth0", "priority": 500}, {"name": "bad name", "priority": 1}]}))
    .unwrap();
    let e = validate(&n).unwrap_err().to_string();
    assert!(
        e.starts_with("linux.resources.network.priorities[1].name:"),
        "{e}"
    );
    let w = wanted(&n);
    assert_eq!(
        w[0],
        ("net_cls", "linux.resources.network.classID".to_string())
    );
    assert_eq!(w[1].0, "net_prio");
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("net_cls.classid"), "0").unwrap();
    set_class_id(d.path(), &n).unwrap();
    assert_eq!(file::read(d.path(), "net_cls.classid").unwrap(), "1048577");
}
