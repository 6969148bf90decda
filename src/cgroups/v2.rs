//! cgroup v2 (unified hierarchy).

use super::{io_err, mkdir_all, CgroupDir, CgroupPaths, Result};
use std::path::{Path, PathBuf};

/// Where a pure cgroup v2 host mounts its hierarchy.
pub const MOUNT: &str = "/sys/fs/cgroup";

pub fn is_unified(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

fn own_cgroup() -> PathBuf {
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

pub fn resolve(mount: &Path, inner: &Path) -> Result<CgroupPaths> {
    let path = if inner.is_absolute() {
        mount.join(inner.strip_prefix("/").unwrap_or(inner))
    } else {
        let own = own_cgroup();
        mount
            .join(own.strip_prefix("/").unwrap_or(&own))
            .join(inner)
    };
    Ok(CgroupPaths::V2 {
        dir: CgroupDir {
            path,
            created: Vec::new(),
        },
    })
}

pub fn create(mount: &Path, dir: &mut CgroupDir) -> Result<()> {
    dir.created = mkdir_all(&dir.path).map_err(io_err("create", &dir.path))?;
    enable_controllers(mount, &dir.path);
    Ok(())
}

/// Makes every controller of the root available down to the container's cgroup by
/// writing `+<controller>` to each ancestor's cgroup.subtree_control (runc does the
/// same). Best effort: an ancestor with processes of its own refuses (EBUSY, "no
/// internal processes"), and a limit on a controller that did not make it down is
/// reported by `apply_resources` with the field that asked for it.
fn enable_controllers(mount: &Path, dir: &Path) {
    let Ok(rel) = dir.strip_prefix(mount) else {
        return;
    };
    let mut current = mount.to_path_buf();
    for part in rel.components() {
        let ctrls = std::fs::read_to_string(current.join("cgroup.controllers")).unwrap_or_default();
        let all: Vec<String> = ctrls.split_whitespace().map(|c| format!("+{c}")).collect();
        if !all.is_empty() {
            let subtree = current.join("cgroup.subtree_control");
            if super::file::try_write(&current, "cgroup.subtree_control", &all.join(" ")).is_err() {
                // One at a time, so one refused controller does not keep out the others.
                for c in &all {
                    if let Err(e) = super::file::try_write(&current, "cgroup.subtree_control", c) {
                        log::debug!("enable {c} in {}: {e}", subtree.display());
                    }
                }
            }
        }
        current.push(part);
    }
}

/// The controllers available in `dir` (its cgroup.controllers).
pub fn controllers(dir: &Path) -> Result<Vec<String>> {
    let text = super::file::read(dir, "cgroup.controllers")?;
    Ok(text.split_whitespace().map(str::to_string).collect())
}

pub fn set_frozen(dir: &Path, frozen: bool) -> Result<()> {
    let file = dir.join("cgroup.freeze");
    std::fs::write(&file, if frozen { "1" } else { "0" }).map_err(io_err("write", &file))?;
    super::wait_frozen(&file, frozen, || Ok(is_frozen(dir) == frozen))
}

pub fn is_frozen(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .is_ok_and(|s| s.lines().any(|l| l.trim() == "frozen 1"))
}

#[cfg(test)]
#[path = "tests/v2.rs"]
mod tests;
