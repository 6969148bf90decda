//! Unit tests of `state/mod.rs`.

use super::*;

#[test]
fn ids() {
    for ok in ["a", "abc-123_x.y+z", "0123456789abcdef"] {
        assert!(validate_id(ok).is_ok(), "{ok}");
    }
    for bad in ["", ".", "..", "a/b", "../x", "a b", "x\n"] {
        assert!(validate_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn atomic_write_replaces() {
    let dir = std::env::temp_dir().join(format!("skiff-state-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let p = dir.join("f");
    write_atomic(&p, b"one", 0o600).unwrap();
    write_atomic(&p, b"two", 0o600).unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"two");
    assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
    fs::remove_dir_all(&dir).unwrap();
}
