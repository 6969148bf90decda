//! Unit tests of `cgroups/blkio.rs`.

use super::*;
use serde_json::json;

fn bio(v: serde_json::Value) -> LinuxBlockIo {
    serde_json::from_value(v).unwrap()
}

#[test]
fn conversions() {
    assert_eq!(weight_to_io_weight(10), 1);
    assert_eq!(weight_to_io_weight(500), 4950);
    assert_eq!(weight_to_io_weight(1000), 10000);
    assert_eq!(io_max_line(8, 0, "rbps", 1048576), "8:0 rbps=1048576");
    assert_eq!(io_max_line(8, 16, "wiops", 0), "8:16 wiops=max");
}

#[test]
fn zero_weight_is_unset_and_ranges_are_checked() {
    let b = bio(json!({"weight": 0}));
    validate(&b).unwrap();
    assert_eq!(wanted(&b), None);
    let e = validate(&bio(json!({"weight": 5})))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "linux.resources.blockIO.weight: 5 is out of range 10-1000"
    );
    let e = validate(&bio(json!({"weightDevice": [{"major": 8, "minor": 0}]}))).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("linux.resources.blockIO.weightDevice[0]: needs"),
        "{e}"
    );
    let e = validate(&bio(
        json!({"throttleReadBpsDevice": [{"major": -8, "minor": 0, "rate": 1}]}),
    ));
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("throttleReadBpsDevice[0]"));
}

#[test]
fn v1_weight_without_scheduler_names_field_and_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("blkio.throttle.read_bps_device"), "").unwrap();
    let b = bio(json!({"throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}]}));
    set_v1(d.path(), &b).unwrap();
    assert_eq!(
        file::read(d.path(), "blkio.throttle.read_bps_device").unwrap(),
        "8:0 600"
    );
    let e = set_v1(d.path(), &bio(json!({"weight": 300})))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("linux.resources.blockIO.weight: write \"300\" to "),
        "{e}"
    );
    assert!(
        e.contains("/blkio.weight: No such file or directory"),
        "{e}"
    );
    assert!(e.contains("CFQ is gone"), "{e}");
}

#[test]
fn v2_weight_goes_to_bfq_or_io_weight() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("io.weight"), "default 100").unwrap();
    std::fs::write(d.path().join("io.max"), "").unwrap();
    set_v2(d.path(), &bio(json!({"weight": 500, "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 300}]}))).unwrap();
    assert_eq!(file::read(d.path(), "io.weight").unwrap(), "4950");
    assert_eq!(file::read(d.path(), "io.max").unwrap(), "8:0 wiops=300");
    std::fs::write(d.path().join("io.bfq.weight"), "100").unwrap();
    set_v2(d.path(), &bio(json!({"weight": 500}))).unwrap();
    assert_eq!(file::read(d.path(), "io.bfq.weight").unwrap(), "500");
}
