//! cgroup v2 (unified hierarchy).

use super::{io_err, mkdir_all, CgroupDir, CgroupPaths, Result};
use std::path::{Path, PathBuf};

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

pub fn create(dir: &mut CgroupDir) -> Result<()> {
    dir.created = mkdir_all(&dir.path).map_err(io_err("create", &dir.path))?;
    Ok(())
}

pub fn set_frozen(dir: &Path, frozen: bool) -> Result<()> {
    let file = dir.join("cgroup.freeze");
    std::fs::write(&file, if frozen { "1" } else { "0" }).map_err(io_err("write", &file))?;
    for _ in 0..1000 {
        if is_frozen(dir) == frozen {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(super::CgroupError::Io {
        what: "freeze",
        path: file.display().to_string(),
        source: std::io::Error::from_raw_os_error(libc::EBUSY),
    })
}

pub fn is_frozen(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("cgroup.events"))
        .is_ok_and(|s| s.lines().any(|l| l.trim() == "frozen 1"))
}
