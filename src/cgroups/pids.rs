//! `linux.resources.pids`: pids.max, the same file on v1 and v2.
//!
//! As runc 1.1 (the runc of this machine): a positive limit is written as is, a negative
//! one means "max", and 0 writes nothing. oci-spec-rs reads an absent `limit` as 0, so 0
//! cannot mean anything else. (Current runc, with an optional limit, maps an explicit 0
//! to 1 for parity with systemd's TasksMax.)

use super::file;
use super::Result;
use oci_spec::runtime::LinuxPids;
use std::path::Path;

const FIELD: &str = "linux.resources.pids.limit";

pub(super) fn wanted(p: &LinuxPids) -> Option<String> {
    pids_max(p.limit()).map(|_| FIELD.to_string())
}

pub(super) fn set(dir: &Path, p: &LinuxPids) -> Result<()> {
    match pids_max(p.limit()) {
        Some(value) => file::write(dir, "pids.max", &value, FIELD),
        None => Ok(()),
    }
}

pub(super) fn pids_max(limit: i64) -> Option<String> {
    match limit {
        0 => None,
        l if l < 0 => Some("max".into()),
        l => Some(l.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_to_pids_max() {
        assert_eq!(pids_max(0), None);
        assert_eq!(pids_max(-1).as_deref(), Some("max"));
        assert_eq!(pids_max(-7).as_deref(), Some("max"));
        assert_eq!(pids_max(20).as_deref(), Some("20"));
    }
}
