//! Entering the rootfs: propagation before, pivot_root (or MS_MOVE + chroot with
//! --no-pivot, or a plain chroot without a mount namespace), and the finishing touches
//! on `/` after.

use super::mount_api::{self as api, AttrChange};
use super::options::root_propagation;
use super::{sys_err, Result, Rootfs};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// In the new mount namespace: make `/` rslave (or `rootfsPropagation`) so nothing the
/// container mounts reaches the host, and make the rootfs a mount point (pivot_root needs
/// one) by binding it onto itself.
pub(super) fn prepare_propagation(rootfs: &Rootfs) -> Result<()> {
    let configured = rootfs
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone());
    let flag = configured
        .as_deref()
        .and_then(root_propagation)
        .unwrap_or(libc::MS_SLAVE | libc::MS_REC);
    api::mount(None, "/", None, flag, None)
        .map_err(sys_err("linux.rootfsPropagation", "set propagation of /"))?;
    let path = rootfs.path.to_string_lossy();
    api::mount(Some(&path), &path, None, libc::MS_BIND | libc::MS_REC, None)
        .map_err(sys_err("root.path", format!("bind {path} onto itself")))?;
    // pivot_root refuses a new root whose parent mount is shared.
    if flag & libc::MS_SHARED != 0 {
        if let Some(parent) = rootfs.path.parent() {
            let mp = mount_point_of(parent);
            api::mount(None, &mp, None, libc::MS_PRIVATE, None).map_err(sys_err(
                "linux.rootfsPropagation",
                format!("make {mp} private"),
            ))?;
        }
    }
    Ok(())
}

/// The mount point of the mount holding `path` (longest matching mountinfo entry).
fn mount_point_of(path: &std::path::Path) -> String {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(super::mountinfo::unescape))
        .filter(|mp| path.starts_with(mp))
        .max_by_key(|mp| mp.len())
        .unwrap_or_else(|| "/".to_string())
}

fn chdir_fd(fd: BorrowedFd) -> std::io::Result<()> {
    // SAFETY: fchdir on a directory fd we hold.
    if unsafe { libc::fchdir(fd.as_raw_fd()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn chroot_dot() -> std::io::Result<()> {
    // SAFETY: chroot/chdir with static C strings.
    unsafe {
        if libc::chroot(c".".as_ptr()) != 0 || libc::chdir(c"/".as_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

pub(super) fn enter(rootfs: &Rootfs, root: &OwnedFd) -> Result<()> {
    use std::os::fd::AsFd;
    chdir_fd(root.as_fd()).map_err(sys_err("root.path", "chdir into the rootfs"))?;
    if !rootfs.own_mount_ns {
        // Without a mount namespace pivot_root would move the host's root: chroot only.
        return chroot_dot().map_err(sys_err("root.path", "chroot"));
    }
    if rootfs.no_pivot {
        let path = rootfs.path.to_string_lossy();
        api::mount(Some(&path), "/", None, libc::MS_MOVE, None)
            .map_err(sys_err("--no-pivot", "move the rootfs onto /"))?;
        return chroot_dot().map_err(sys_err("--no-pivot", "chroot"));
    }
    let dot = CString::new(".").unwrap_or_default();
    // pivot_root(".", ".") stacks the old root on top of the new one; no temporary
    // directory inside the rootfs is needed.
    // SAFETY: pivot_root with valid C strings.
    if unsafe { libc::syscall(libc::SYS_pivot_root, dot.as_ptr(), dot.as_ptr()) } != 0 {
        return Err(sys_err("root.path", "pivot_root")(
            std::io::Error::last_os_error(),
        ));
    }
    // The old root must not propagate its unmount to the host: make it a slave first.
    api::mount(None, ".", None, libc::MS_SLAVE | libc::MS_REC, None)
        .map_err(sys_err("root.path", "make the old root a slave"))?;
    // SAFETY: umount2 of the stacked old root (cwd) with a valid C string.
    if unsafe { libc::umount2(dot.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(sys_err("root.path", "detach the old root")(
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: chdir with a static C string.
    if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
        return Err(sys_err("root.path", "chdir /")(
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// After masks: `root.readonly`, and `rootfsPropagation` applied to the new `/`.
pub(super) fn finish(rootfs: &Rootfs, root: BorrowedFd) -> Result<()> {
    if !rootfs.own_mount_ns {
        return Ok(());
    }
    if rootfs
        .spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        let ro = AttrChange {
            set: api::MOUNT_ATTR_RDONLY,
            ..Default::default()
        };
        api::mount_setattr(root, false, ro, None)
            .map_err(sys_err("root.readonly", "make / read-only"))?;
    }
    if let Some(p) = rootfs
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone())
    {
        if let Some(flag) = root_propagation(&p) {
            api::mount(None, "/", None, flag, None)
                .map_err(sys_err("linux.rootfsPropagation", format!("set {p} on /")))?;
        }
    }
    Ok(())
}
