//! cgroup v1: one directory per mounted hierarchy.

use super::{io_err, mkdir_all, CgroupDir, CgroupPaths, Result};
use crate::rootfs::mountinfo::unescape;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// The controllers as /proc/self/cgroup names them (`cpu,cpuacct`, `name=systemd`).
    pub name: String,
    pub mountpoint: PathBuf,
    /// The hierarchy path mounted at `mountpoint` (`/` unless bind-mounted from inside).
    pub mount_root: PathBuf,
    /// skiff's own cgroup in this hierarchy.
    pub own: PathBuf,
}

/// The v1 hierarchies this process is in that are mounted somewhere.
pub fn hierarchies() -> Result<Vec<Hierarchy>> {
    let cgroup_file = Path::new("/proc/self/cgroup");
    let own = std::fs::read_to_string(cgroup_file).map_err(io_err("read", cgroup_file))?;
    let mountinfo_file = Path::new("/proc/self/mountinfo");
    let mountinfo =
        std::fs::read_to_string(mountinfo_file).map_err(io_err("read", mountinfo_file))?;
    let mounts = cgroup_mounts(&mountinfo);
    let mut out = Vec::new();
    for line in own.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if controllers.is_empty() {
            continue; // the v2 entry "0::/..."
        }
        let wanted: Vec<&str> = controllers.split(',').collect();
        let Some((mountpoint, root)) = mounts
            .iter()
            .find(|(_, _, opts)| wanted.iter().all(|c| opts.iter().any(|o| o == c)))
            .map(|(m, r, _)| (m.clone(), r.clone()))
        else {
            continue;
        };
        out.push(Hierarchy {
            name: controllers.to_string(),
            mountpoint,
            mount_root: root,
            own: PathBuf::from(path),
        });
    }
    Ok(out)
}

/// (mountpoint, root, super options) of every cgroup v1 mount.
fn cgroup_mounts(mountinfo: &str) -> Vec<(PathBuf, PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split_whitespace();
        if post.next() != Some("cgroup") {
            continue;
        }
        let super_opts: Vec<String> = post
            .nth(1)
            .unwrap_or("")
            .split(',')
            .map(str::to_string)
            .collect();
        let pre: Vec<&str> = pre.split_whitespace().collect();
        if pre.len() < 5 {
            continue;
        }
        out.push((
            PathBuf::from(unescape(pre[4])),
            PathBuf::from(unescape(pre[3])),
            super_opts,
        ));
    }
    out
}

/// Why no hierarchy holds `controller`, for the "not available" error.
pub fn why_unavailable(controller: &str) -> String {
    let proc_cgroups = std::fs::read_to_string("/proc/cgroups").unwrap_or_default();
    let known = proc_cgroups.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 4 && f[0] == controller && f[3] == "1"
    });
    if !known {
        return "the kernel does not provide it (see /proc/cgroups)".into();
    }
    // Hybrid hosts: a controller may be bound to the cgroup2 mount instead.
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        if post.split_whitespace().next() != Some("cgroup2") {
            continue;
        }
        let Some(mp) = pre.split_whitespace().nth(4).map(unescape) else {
            continue;
        };
        let ctrls =
            std::fs::read_to_string(Path::new(&mp).join("cgroup.controllers")).unwrap_or_default();
        if ctrls.split_whitespace().any(|c| c == controller) {
            return format!(
                "it is bound to the cgroup v2 hierarchy at {mp}, which skiff (like runc) does not use on a host with v1 hierarchies"
            );
        }
    }
    "no cgroup v1 hierarchy with it is mounted".into()
}

pub fn resolve(hierarchies: &[Hierarchy], inner: &Path) -> Result<CgroupPaths> {
    let mut dirs = BTreeMap::new();
    for h in hierarchies {
        let path = if inner.is_absolute() {
            h.mountpoint.join(inner.strip_prefix("/").unwrap_or(inner))
        } else {
            let own = h.own.strip_prefix(&h.mount_root).unwrap_or(Path::new(""));
            h.mountpoint.join(own).join(inner)
        };
        dirs.insert(
            h.name.clone(),
            CgroupDir {
                path,
                created: Vec::new(),
            },
        );
    }
    Ok(CgroupPaths::V1 { dirs })
}

pub fn create(dirs: &mut BTreeMap<String, CgroupDir>) -> Result<()> {
    for (name, dir) in dirs.iter_mut() {
        dir.created = mkdir_all(&dir.path).map_err(io_err("create", &dir.path))?;
        if name.split(',').any(|c| c == "cpuset") {
            // A new v1 cpuset cgroup starts with empty cpus/mems and refuses tasks
            // until they are filled in from the parent.
            for created in dir.created.clone() {
                inherit_cpuset(&created)?;
            }
        }
    }
    Ok(())
}

fn inherit_cpuset(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mine = dir.join(file);
        let current = std::fs::read_to_string(&mine).map_err(io_err("read", &mine))?;
        if current.trim().is_empty() {
            let from = parent.join(file);
            let value = std::fs::read_to_string(&from).map_err(io_err("read", &from))?;
            std::fs::write(&mine, value.trim()).map_err(io_err("write", &mine))?;
        }
    }
    Ok(())
}

pub fn set_frozen(dir: &Path, frozen: bool) -> Result<()> {
    let file = dir.join("freezer.state");
    let want = if frozen { "FROZEN" } else { "THAWED" };
    // FREEZING becomes FROZEN once every task has stopped; writing again nudges it.
    super::wait_frozen(&file, frozen, || {
        std::fs::write(&file, want).map_err(io_err("write", &file))?;
        let now = std::fs::read_to_string(&file).map_err(io_err("read", &file))?;
        Ok(now.trim() == want)
    })
}

pub fn is_frozen(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN")
}

#[cfg(test)]
#[path = "tests/v1.rs"]
mod tests;
