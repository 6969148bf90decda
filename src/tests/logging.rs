//! Unit tests of `logging.rs`.

use super::*;

#[test]
fn rfc3339_known_dates() {
    assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
    assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
    assert_eq!(rfc3339(1_795_816_938, 0), "2026-11-27T22:02:18.000000000Z");
}

#[test]
fn json_line_has_runc_keys() {
    let line = format_line(Format::Json, log::Level::Error, "container does not exist");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["level"], "error");
    assert_eq!(v["msg"], "container does not exist");
    assert!(v["time"].as_str().unwrap().ends_with('Z'));
}
