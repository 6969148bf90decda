//! A `cgroup` mount: the container's view of its own cgroups.
//!
//! On cgroup v1 this is a tmpfs with one bind mount per hierarchy of the container's
//! own cgroup directory (podman's checks read memory.limit_in_bytes, pids.max and
//! cpu.cfs_quota_us there). With or without a cgroup namespace the binds are the same
//! directories; in one, mountinfo shows them rooted at `/` as a fresh v1 mount would be.
//! The host's cgroupfs is never exposed beyond the container's own directories
//! (CVE-2023-25809). On v2 it is cgroup2 itself in a cgroup namespace, else a bind of the
//! container's cgroup. Type `cgroup2` on a v1 host is refused: the only cgroup2 there is
//! the host's (hybrid) unified hierarchy, which the container has no cgroup of its own in.

use super::mount_api::{self as api, FsContext};
use super::mounts::{set_attrs, set_propagation, Ctx};
use super::options::Parsed;
use super::resolve::{self, NodeKind};
use super::{Result, Rootfs};
use crate::cgroups::CgroupPaths;
use oci_spec::runtime::Mount;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

pub(super) fn mount(
    rootfs: &Rootfs,
    ctx: &Ctx,
    root: BorrowedFd,
    m: &Mount,
    parsed: &Parsed,
    fstype: &str,
) -> Result<()> {
    if fstype == "cgroup2" && matches!(rootfs.cgroup, CgroupPaths::V1 { .. }) {
        return Err(ctx.config(
            "type cgroup2 on a cgroup v1 host: the container's cgroups are v1 (use type cgroup)",
        ));
    }
    let target =
        resolve::prepare_target(root, m.destination(), NodeKind::Dir, resolve::NO_SYMLINKS)
            .map_err(ctx.err("resolve destination in the rootfs"))?;
    match rootfs.cgroup {
        CgroupPaths::V1 { dirs } => {
            let tmpfs = FsContext::open("tmpfs").map_err(ctx.err("tmpfs for the cgroup view"))?;
            tmpfs
                .set_string("source", "tmpfs")
                .and_then(|()| tmpfs.set_string("mode", "755"))
                .map_err(ctx.err("tmpfs options"))?;
            tmpfs.create().map_err(ctx.err("create tmpfs"))?;
            // Read-only is applied after the hierarchy directories exist.
            let top_attrs = parsed.attrs.set & !api::MOUNT_ATTR_RDONLY;
            let top = tmpfs.mount(top_attrs).map_err(ctx.err("mount tmpfs"))?;
            for (name, dir) in dirs {
                let sub = subdir_name(name, &dir.path);
                let c = CString::new(sub.clone())
                    .map_err(|_| ctx.config(format!("bad hierarchy name {sub:?}")))?;
                // SAFETY: mkdirat relative to the fresh tmpfs we own.
                if unsafe { libc::mkdirat(top.as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
                    return Err(ctx.err(format!("mkdir {sub}"))(
                        std::io::Error::last_os_error(),
                    ));
                }
                let sub_fd = resolve::open_beneath_strict(top.as_fd(), &sub, libc::O_PATH)
                    .map_err(ctx.err(format!("open {sub}")))?;
                let tree = api::open_tree(None, &dir.path.to_string_lossy(), api::OPEN_TREE_CLONE)
                    .map_err(ctx.err(format!("clone {}", dir.path.display())))?;
                set_attrs(ctx, tree.as_fd(), parsed)?;
                api::move_mount(tree.as_fd(), sub_fd.as_fd())
                    .map_err(ctx.err(format!("bind {}", dir.path.display())))?;
                // cpu,cpuacct mounted together: also reachable as cpu and cpuacct.
                if sub.contains(',') {
                    for alias in sub.split(',') {
                        let (a, t) = (
                            CString::new(alias).unwrap_or_default(),
                            CString::new(sub.clone()).unwrap_or_default(),
                        );
                        // SAFETY: symlinkat relative to the tmpfs we own.
                        unsafe { libc::symlinkat(t.as_ptr(), top.as_raw_fd(), a.as_ptr()) };
                    }
                }
            }
            if parsed.attrs.set & api::MOUNT_ATTR_RDONLY != 0 {
                let ro = api::AttrChange {
                    set: api::MOUNT_ATTR_RDONLY,
                    ..Default::default()
                };
                api::mount_setattr(top.as_fd(), false, ro, None)
                    .map_err(ctx.err("make cgroup tmpfs read-only"))?;
            }
            api::move_mount(top.as_fd(), target.as_fd()).map_err(ctx.err("attach cgroup view"))?;
            set_propagation(ctx, top.as_fd(), parsed)
        }
        CgroupPaths::V2 { dir } => {
            let mnt = if rootfs.cgroup_ns {
                let fs = FsContext::open("cgroup2").map_err(ctx.err("cgroup2"))?;
                fs.create()
                    .map_err(|e| ctx.err(format!("create cgroup2 ({})", fs.messages()))(e))?;
                fs.mount(parsed.attrs.set)
                    .map_err(ctx.err("mount cgroup2"))?
            } else {
                let tree = api::open_tree(None, &dir.path.to_string_lossy(), api::OPEN_TREE_CLONE)
                    .map_err(ctx.err(format!("clone {}", dir.path.display())))?;
                set_attrs(ctx, tree.as_fd(), parsed)?;
                tree
            };
            api::move_mount(mnt.as_fd(), target.as_fd()).map_err(ctx.err("attach cgroup2"))?;
            set_propagation(ctx, mnt.as_fd(), parsed)
        }
        CgroupPaths::None => Err(ctx.config("no cgroup to mount")),
    }
}

/// The directory name under /sys/fs/cgroup: the host's mount point name of the
/// hierarchy (`cpu`, `cpu,cpuacct`, `systemd`), else the controller list.
fn subdir_name(hierarchy: &str, path: &Path) -> String {
    if let Ok(rest) = path.strip_prefix("/sys/fs/cgroup") {
        if let Some(first) = rest.components().next() {
            return first.as_os_str().to_string_lossy().into_owned();
        }
    }
    hierarchy.trim_start_matches("name=").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdir_names() {
        assert_eq!(
            subdir_name("memory", Path::new("/sys/fs/cgroup/memory/a/b")),
            "memory"
        );
        assert_eq!(
            subdir_name("name=systemd", Path::new("/sys/fs/cgroup/systemd/x")),
            "systemd"
        );
        assert_eq!(subdir_name("name=systemd", Path::new("/cg/x")), "systemd");
    }
}
