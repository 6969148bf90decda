//! `linux.maskedPaths` and `linux.readonlyPaths`.

use super::devices::is_dev_null;
use super::mount_api::{self as api, AttrChange, FsContext};
use super::resolve;
use super::{sys_err, Result, RootfsError};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The path resolved inside the root: a symlink in the image is followed there (never
/// out of it, as runc's securejoin does), except under /proc, /sys and /dev where no
/// symlink is legitimate. The mask or bind then goes onto this fd.
fn open_target(root: BorrowedFd, path: &str) -> Option<std::io::Result<OwnedFd>> {
    match resolve::open_in_root(
        root,
        path,
        libc::O_PATH,
        super::mounts::strict_target(std::path::Path::new(path), None),
    ) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
        other => Some(other),
    }
}

/// Masks files with the container's /dev/null and directories with an empty read-only
/// tmpfs. A path that does not exist is skipped, as in runc.
///
/// CVE-2025-31133: with /dev/null swapped for a symlink (or a file), runc bind-mounted
/// the link's target read-write over the masked path. Here /dev/null is opened without
/// following any symlink, checked to be char 1:3, and the mask is cloned from that fd.
pub(super) fn mask_paths(root: BorrowedFd, paths: &[String]) -> Result<()> {
    let mut dev_null: Option<OwnedFd> = None;
    for (i, path) in paths.iter().enumerate() {
        let field = format!("linux.maskedPaths[{i}]");
        let Some(target) = open_target(root, path) else {
            continue;
        };
        let target = target.map_err(sys_err(&field, format!("open {path} in the container")))?;
        let is_dir = nix::sys::stat::fstat(target.as_fd())
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
        let mnt = if is_dir {
            let fs = FsContext::open("tmpfs").map_err(sys_err(&field, "tmpfs"))?;
            fs.create().map_err(sys_err(&field, "create tmpfs"))?;
            fs.mount(
                api::MOUNT_ATTR_RDONLY
                    | api::MOUNT_ATTR_NOSUID
                    | api::MOUNT_ATTR_NODEV
                    | api::MOUNT_ATTR_NOEXEC,
            )
            .map_err(sys_err(&field, "mount tmpfs"))?
        } else {
            if dev_null.is_none() {
                let fd = resolve::open_in_root(
                    root,
                    "/dev/null",
                    libc::O_PATH | libc::O_NOFOLLOW,
                    resolve::NO_SYMLINKS,
                )
                .map_err(sys_err(
                    &field,
                    "open the container's /dev/null to mask with",
                ))?;
                if !is_dev_null(fd.as_fd()) {
                    return Err(RootfsError::Config {
                        field,
                        msg: "the container's /dev/null is not the null device (char 1:3); refusing to mask with it".into(),
                    });
                }
                dev_null = Some(fd);
            }
            let null = dev_null
                .as_ref()
                .map(|f| f.as_fd())
                .ok_or_else(|| RootfsError::Config {
                    field: field.clone(),
                    msg: "no /dev/null".into(),
                })?;
            api::open_tree(Some(null), "", api::OPEN_TREE_CLONE | api::AT_EMPTY_PATH)
                .map_err(sys_err(&field, "clone /dev/null"))?
        };
        api::move_mount(mnt.as_fd(), target.as_fd())
            .map_err(sys_err(&field, format!("mask {path}")))?;
    }
    Ok(())
}

/// Makes each path a read-only bind of itself, recursively. mount_setattr only adds the
/// read-only bit, so flags the kernel locked (nosuid, nodev, ... from a more privileged
/// mount namespace) stay as they were.
pub(super) fn readonly_paths(root: BorrowedFd, paths: &[String]) -> Result<()> {
    for (i, path) in paths.iter().enumerate() {
        let field = format!("linux.readonlyPaths[{i}]");
        let Some(target) = open_target(root, path) else {
            continue;
        };
        let target = target.map_err(sys_err(&field, format!("open {path} in the container")))?;
        let tree = api::open_tree(
            Some(target.as_fd()),
            "",
            api::OPEN_TREE_CLONE | api::AT_RECURSIVE | api::AT_EMPTY_PATH,
        )
        .map_err(sys_err(&field, format!("clone mount of {path}")))?;
        let ro = AttrChange {
            set: api::MOUNT_ATTR_RDONLY,
            ..Default::default()
        };
        api::mount_setattr(tree.as_fd(), true, ro, None)
            .map_err(sys_err(&field, "make read-only"))?;
        api::move_mount(tree.as_fd(), target.as_fd())
            .map_err(sys_err(&field, format!("mount over {path}")))?;
    }
    Ok(())
}
