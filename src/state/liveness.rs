//! Is the process recorded in state.json still the container's init?
//!
//! pid_max is small here (32768) and pids are reused quickly, so a pid alone proves
//! nothing: the start time (clock ticks after boot, field 22 of /proc/<pid>/stat) must
//! match too. A zombie counts as gone: the container has stopped, only its parent has
//! not reaped it yet.

use std::path::Path;

#[derive(Debug, PartialEq, Eq)]
pub enum ProcessLiveness {
    Alive,
    Gone,
}

impl ProcessLiveness {
    pub fn check(pid: i32, start_time: u64) -> ProcessLiveness {
        match read_stat(pid) {
            Some((state, start)) if state != 'Z' && state != 'X' && start == start_time => {
                ProcessLiveness::Alive
            }
            _ => ProcessLiveness::Gone,
        }
    }
}

/// The start time of `pid`, if it exists.
pub fn process_start_time(pid: i32) -> Option<u64> {
    read_stat(pid).map(|(_, start)| start)
}

fn read_stat(pid: i32) -> Option<(char, u64)> {
    let text =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    parse_stat(&text)
}

/// Parses the state and start time out of /proc/<pid>/stat. The command name may hold
/// spaces and parentheses, so fields are counted after the *last* `)`.
fn parse_stat(text: &str) -> Option<(char, u64)> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // After the state come fields 4..; the start time is field 22, i.e. 19 further on.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
#[path = "tests/liveness.rs"]
mod tests;
