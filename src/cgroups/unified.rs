//! `linux.resources.unified`: cgroup v2 files written as given, after everything else
//! (so they override the converted values, as in runc). Meaningless on v1: an error.

use super::file::{self, invalid};
use super::{CgroupError, Result};
use std::collections::HashMap;
use std::path::Path;

const F: &str = "linux.resources.unified";

fn sorted(map: &HashMap<String, String>) -> Vec<(&String, &String)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

pub(super) fn first_key(map: &HashMap<String, String>) -> Option<String> {
    sorted(map).first().map(|(k, _)| format!("{F}.{k}"))
}

/// Each key must name a file in the container's cgroup directory itself: no path
/// separator, no `.`/`..`, and the `<controller>.<setting>` form of every cgroup file.
pub(super) fn validate(map: &HashMap<String, String>) -> Result<()> {
    for (key, value) in sorted(map) {
        let field = format!("{F}.{key}");
        if key.contains('/') || key.contains('\0') || key == "." || key == ".." {
            return Err(invalid(
                field,
                "must be a file name in the container's cgroup (no path)",
            ));
        }
        match key.split_once('.') {
            Some((ctrl, setting)) if !ctrl.is_empty() && !setting.is_empty() => {}
            _ => {
                return Err(invalid(
                    field,
                    "must be a cgroup file name like memory.high (<controller>.<setting>)",
                ))
            }
        }
        if value.contains('\0') {
            return Err(invalid(field, "value contains a NUL byte"));
        }
    }
    Ok(())
}

/// Writes each value line by line (the kernel parses one line per write for files like
/// io.max). A missing file of a controller the cgroup does not have is reported as such.
pub(super) fn set_v2(
    dir: &Path,
    map: &HashMap<String, String>,
    controllers: &[String],
) -> Result<()> {
    for (key, value) in sorted(map) {
        let field = format!("{F}.{key}");
        let ctrl = key.split('.').next().unwrap_or_default();
        for line in value.split('\n').filter(|l| !l.is_empty()) {
            file::write(dir, key, line, &field).map_err(|e| match e {
                CgroupError::Write { ref source, .. }
                    if matches!(source.raw_os_error(), Some(libc::ENOENT | libc::EPERM))
                        && ctrl != "cgroup"
                        && !controllers.iter().any(|c| c == ctrl) =>
                {
                    CgroupError::Unavailable {
                        field: field.clone(),
                        controller: ctrl.to_string(),
                        why: format!(
                            "not in the cgroup's cgroup.controllers ({})",
                            controllers.join(" ")
                        ),
                    }
                }
                e => e,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/unified.rs"]
mod tests;
