//! Unit tests of `cgroups/unified.rs`.

use super::*;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn keys_stay_inside_the_cgroup() {
    validate(&map(&[
        ("memory.high", "1000"),
        ("cgroup.type", "threaded"),
    ]))
    .unwrap();
    for bad in [
        "../memory.max",
        "a/b.c",
        ".",
        "..",
        "memory",
        ".max",
        "memory.",
    ] {
        let e = validate(&map(&[(bad, "1")])).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("linux.resources.unified.{bad}: ")),
            "{e}"
        );
    }
}

#[test]
fn writes_line_by_line_and_names_missing_controllers() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("io.max"), "").unwrap();
    set_v2(
        d.path(),
        &map(&[("io.max", "8:0 rbps=1\n8:16 wiops=2\n")]),
        &["io".into()],
    )
    .unwrap();
    // A plain file keeps the last line; the kernel would keep both.
    assert_eq!(file::read(d.path(), "io.max").unwrap(), "8:16 wiops=2");
    let e = set_v2(d.path(), &map(&[("hugetlb.2MB.max", "1")]), &["io".into()]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "linux.resources.unified.hugetlb.2MB.max: the hugetlb cgroup controller is not available: not in the cgroup's cgroup.controllers (io)"
    );
}
