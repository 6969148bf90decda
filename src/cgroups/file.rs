//! Reading and writing cgroup interface files.
//!
//! Every write names the config field it implements, so a failure reads
//! `linux.resources.memory.limit: write "1024" to /sys/fs/cgroup/memory/x/memory.limit_in_bytes:
//! Invalid argument (os error 22)`.

use super::{CgroupError, Result};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes `value` to `<dir>/<file>` on behalf of the config field `field`.
pub(crate) fn write(dir: &Path, file: &str, value: &str, field: &str) -> Result<()> {
    try_write(dir, file, value).map_err(|e| write_error(field, dir, file, value, e))
}

/// The raw write, for callers that react to a particular errno (EINVAL ordering dances).
///
/// One `write(2)` of the whole value: cgroupfs parses each write on its own. No
/// `O_CREAT`: a missing file means the kernel lacks the knob, and cgroupfs cannot create
/// one anyway. `O_TRUNC` is a no-op on cgroupfs but keeps unit tests on plain files honest.
pub(crate) fn try_write(dir: &Path, file: &str, value: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join(file))?;
    f.write_all(value.as_bytes())
}

/// The trimmed content of `<dir>/<file>`.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_string())
        .map_err(super::io_err("read", &path))
}

pub(crate) fn exists(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

pub(crate) fn write_error(
    field: &str,
    dir: &Path,
    file: &str,
    value: &str,
    source: std::io::Error,
) -> CgroupError {
    let hint = match source.raw_os_error() {
        Some(libc::ENOENT) => " (the kernel does not provide this file)".to_string(),
        _ => String::new(),
    };
    CgroupError::Write {
        field: field.to_string(),
        path: dir.join(file).display().to_string(),
        value: value.to_string(),
        source,
        hint,
    }
}

impl CgroupError {
    /// Replaces the hint of a failed write whose errno is one of `errnos`.
    pub(crate) fn hint_on(self, errnos: &[i32], why: impl FnOnce() -> String) -> CgroupError {
        match self {
            CgroupError::Write {
                field,
                path,
                value,
                source,
                ..
            } if source.raw_os_error().is_some_and(|e| errnos.contains(&e)) => CgroupError::Write {
                field,
                path,
                value,
                source,
                hint: format!(" ({})", why()),
            },
            other => other,
        }
    }

    /// Replaces the generic hint of a write that failed because the file is missing.
    pub(crate) fn when_missing(self, why: &str) -> CgroupError {
        self.hint_on(&[libc::ENOENT], || why.to_string())
    }
}

/// A bad value in the config, found before anything is written.
pub(crate) fn invalid(field: impl Into<String>, msg: impl Into<String>) -> CgroupError {
    CgroupError::Invalid {
        field: field.into(),
        msg: msg.into(),
    }
}

#[cfg(test)]
#[path = "tests/file.rs"]
mod tests;
