//! Unit tests of `cgroups/hugetlb.rs`.

use super::*;

#[test]
fn page_sizes() {
    assert_eq!(size_kb("2MB"), Some(2048));
    assert_eq!(size_kb("1GB"), Some(1 << 20));
    assert_eq!(size_kb("64KB"), Some(64));
    for bad in ["", "MB", "2mb", "2M", "0MB", "x2MB", "2 MB"] {
        assert_eq!(size_kb(bad), None, "{bad}");
    }
    assert_eq!(size_name(2048), "2MB");
    assert_eq!(size_name(1 << 20), "1GB");
    assert_eq!(size_name(64), "64KB");
}

#[test]
fn validation_names_the_entry() {
    let l: Vec<LinuxHugepageLimit> = serde_json::from_value(
        serde_json::json!([{"pageSize": "2MB", "limit": 1}, {"pageSize": "2XB", "limit": 1}]),
    )
    .unwrap();
    let e = validate(&l).unwrap_err().to_string();
    assert!(
        e.starts_with("linux.resources.hugepageLimits[1].pageSize: \"2XB\""),
        "{e}"
    );
}
