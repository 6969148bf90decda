//! Entering the rootfs: propagation and the rootfs mount before, pivot_root (or MS_MOVE +
//! chroot with --no-pivot, or a plain chroot without a mount namespace), and the
//! finishing touches on `/` after.

use super::mount_api::{self as api, AttrChange};
use super::options::root_propagation;
use super::{sys_err, Result, Rootfs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

fn configured_propagation(rootfs: &Rootfs) -> Option<(String, libc::c_ulong)> {
    let p = rootfs
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone())?;
    let flag = root_propagation(&p)?;
    Some((p, flag))
}

/// In the new mount namespace, before any mount: make the copy of the host's tree rslave
/// (rprivate when that is what the config asks), so nothing mounted for the container
/// reaches the host while host mounts still reach the container, as in runc. Any other
/// `rootfsPropagation` is applied only after the pivot, to the container's own `/`
/// ([`finish`]): `shared` here would leave the copy in the host's peer group and send
/// every container mount to the host, `unbindable` would forbid the rootfs bind, and a
/// shared parent makes pivot_root fail.
///
/// Then the rootfs becomes a mount point (pivot_root needs one): a recursive clone of it
/// attached onto itself. The clone's fd is returned: every path inside the rootfs is
/// resolved from it.
pub(super) fn prepare_root(rootfs: &Rootfs) -> Result<OwnedFd> {
    let rprivate = libc::MS_PRIVATE | libc::MS_REC;
    let flag = match configured_propagation(rootfs) {
        Some((_, f)) if f == rprivate => rprivate,
        _ => libc::MS_SLAVE | libc::MS_REC,
    };
    api::mount(None, "/", None, flag, None)
        .map_err(sys_err("linux.rootfsPropagation", "set propagation of /"))?;
    let path = rootfs.path.to_string_lossy();
    let tree = api::open_tree(None, &path, api::OPEN_TREE_CLONE | api::AT_RECURSIVE)
        .map_err(sys_err("root.path", format!("clone the mount of {path}")))?;
    let target = open_dir(&path)?;
    api::move_mount(tree.as_fd(), target.as_fd())
        .map_err(sys_err("root.path", format!("bind {path} onto itself")))?;
    Ok(tree)
}

/// Without a mount namespace nothing may change the host's mounts: the rootfs is used as
/// it is.
pub(super) fn open_root(rootfs: &Rootfs) -> Result<OwnedFd> {
    open_dir(&rootfs.path.to_string_lossy())
}

fn open_dir(path: &str) -> Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    Ok(std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map_err(sys_err("root.path", format!("open {path}")))?
        .into())
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
    chdir_fd(root.as_fd()).map_err(sys_err("root.path", "chdir into the rootfs"))?;
    if !rootfs.own_mount_ns {
        // Without a mount namespace pivot_root would move the host's root: chroot only.
        return chroot_dot().map_err(sys_err("root.path", "chroot"));
    }
    if rootfs.no_pivot {
        hide_host_pseudo_fs(rootfs)?;
        // The rootfs mount (the fd, not its path) goes on top of `/`; the cwd moves with it.
        api::move_mount_to_path(root.as_fd(), "/")
            .map_err(sys_err("--no-pivot", "move the rootfs onto /"))?;
        return chroot_dot().map_err(sys_err("--no-pivot", "chroot"));
    }
    // The old root, to detach after the pivot. "." after pivot_root(".", ".") is not
    // reliably the old root (runc fchdirs to an fd of it too): making "." rslave there
    // would reset the propagation of every mount of the new root.
    let old_root = open_dir("/")?;
    // pivot_root(".", ".") stacks the old root on top of the new one; no temporary
    // directory inside the rootfs is needed.
    // SAFETY: pivot_root with static C strings.
    if unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) } != 0 {
        return Err(sys_err("root.path", "pivot_root")(
            std::io::Error::last_os_error(),
        ));
    }
    // The old root must not propagate its unmount to the host: make it a slave first.
    let slave = AttrChange {
        propagation: libc::MS_SLAVE,
        ..Default::default()
    };
    api::mount_setattr(old_root.as_fd(), true, slave, None)
        .map_err(sys_err("root.path", "make the old root a slave"))?;
    chdir_fd(old_root.as_fd()).map_err(sys_err("root.path", "chdir into the old root"))?;
    drop(old_root);
    // SAFETY: umount2 of the old root (now the cwd) with a static C string.
    if unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) } != 0 {
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

/// --no-pivot leaves the host's mounts in the container's mount namespace, below the
/// chroot. The kernel lets a user namespace mount a new procfs or sysfs only while a
/// fully visible one exists (mount_too_revealing), and a container that escapes the
/// chroot could reach the host's: so, as runc's msMoveRoot does, every full procfs and
/// sysfs mount outside the rootfs is detached, or covered with a tmpfs where a user
/// namespace may not unmount it.
fn hide_host_pseudo_fs(rootfs: &Rootfs) -> Result<()> {
    let info = super::procfs::Procfs::open()
        .and_then(|p| p.read_self("mountinfo"))
        .map_err(sys_err("--no-pivot", "read /proc/self/mountinfo"))?;
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let sep = f.iter().position(|x| *x == "-")?;
            let (root, point, fstype) = (f.get(3)?, f.get(4)?, f.get(sep + 1)?);
            let point = super::mountinfo::unescape(point);
            let full = *root == "/" && (*fstype == "proc" || *fstype == "sysfs");
            (full && !std::path::Path::new(&point).starts_with(rootfs.path)).then_some(point)
        })
        .collect();
    // Children first, so a parent's detach does not hide them from us.
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for point in points {
        let c = std::ffi::CString::new(point.clone()).unwrap_or_default();
        // SAFETY: umount2 with a valid C string.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
            continue;
        }
        let err = std::io::Error::last_os_error();
        if !matches!(err.raw_os_error(), Some(libc::EINVAL) | Some(libc::EPERM)) {
            return Err(sys_err("--no-pivot", format!("detach {point}"))(err));
        }
        api::mount(
            Some("tmpfs"),
            &point,
            Some("tmpfs"),
            0,
            Some("size=0,mode=000"),
        )
        .map_err(sys_err("--no-pivot", format!("cover {point}")))?;
    }
    Ok(())
}

/// After masks: `root.readonly`, and `rootfsPropagation` applied to the container's `/`.
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
        // Only the read-only bit is added: flags the kernel locked stay as they are.
        let ro = AttrChange {
            set: api::MOUNT_ATTR_RDONLY,
            ..Default::default()
        };
        api::mount_setattr(root, false, ro, None)
            .map_err(sys_err("root.readonly", "make / read-only"))?;
    }
    if let Some((name, flag)) = configured_propagation(rootfs) {
        let propagation: u64 = flag & !libc::MS_REC;
        let change = AttrChange {
            propagation,
            ..Default::default()
        };
        api::mount_setattr(root, flag & libc::MS_REC != 0, change, None)
            .map_err(sys_err("linux.rootfsPropagation", format!("make / {name}")))?;
    }
    Ok(())
}
