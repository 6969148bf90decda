//! Unit tests of `state/liveness.rs`.

use super::*;

#[test]
fn parses_odd_comm() {
    let line =
        "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100";
    assert_eq!(parse_stat(line), Some(('S', 987654)));
}

#[test]
fn self_is_alive() {
    let pid = std::process::id() as i32;
    let start = process_start_time(pid).unwrap();
    assert_eq!(ProcessLiveness::check(pid, start), ProcessLiveness::Alive);
    assert_eq!(
        ProcessLiveness::check(pid, start + 1),
        ProcessLiveness::Gone
    );
}
