//! Unit tests of `cgroups/file.rs`.

use super::*;

#[test]
fn write_truncates_and_names_field_file_and_errno() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pids.max"), "100000").unwrap();
    write(dir.path(), "pids.max", "20", "linux.resources.pids.limit").unwrap();
    assert_eq!(read(dir.path(), "pids.max").unwrap(), "20");
    let err = write(dir.path(), "nope", "1", "linux.resources.x").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("linux.resources.x: write \"1\" to "),
        "{text}"
    );
    assert!(
        text.contains("/nope: No such file or directory (os error 2)"),
        "{text}"
    );
    assert!(
        text.ends_with("(the kernel does not provide this file)"),
        "{text}"
    );
    let err = err.when_missing("no BFQ");
    assert!(err.to_string().ends_with("(no BFQ)"), "{err}");
}
