//! One entry of `mounts`: bind mounts by open_tree + move_mount, other filesystems by
//! fsopen/fsconfig/fsmount + move_mount, both onto the fd of the resolved target.

use super::mount_api::{self as api, AttrChange, FsContext};
use super::options::{self, Kind, Parsed};
use super::resolve::{self, NodeKind};
use super::{cgroupfs, copyup, Result, Rootfs, RootfsError};
use oci_spec::runtime::Mount;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

pub(super) struct Ctx<'a> {
    pub index: usize,
    pub dest: String,
    pub _m: &'a Mount,
}

impl Ctx<'_> {
    pub fn err(&self, what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RootfsError + '_ {
        let what = what.into();
        move |source| RootfsError::Mount {
            index: self.index,
            dest: self.dest.clone(),
            what,
            source,
        }
    }

    pub fn config(&self, msg: impl Into<String>) -> RootfsError {
        RootfsError::MountConfig {
            index: self.index,
            dest: self.dest.clone(),
            msg: msg.into(),
        }
    }
}

/// Targets where a symlink is never legitimate (CVE-2019-19921: a /proc symlink in the
/// image redirected the proc mount).
pub(super) fn strict_target(dest: &Path, fstype: Option<&str>) -> u64 {
    let clean = resolve::clean(dest);
    let top = clean.components().next().map(|c| c.as_os_str().to_owned());
    let special = matches!(
        fstype,
        Some("proc") | Some("sysfs") | Some("devpts") | Some("mqueue")
    );
    if special
        || top.as_deref() == Some("proc".as_ref())
        || top.as_deref() == Some("sys".as_ref())
        || clean == Path::new("dev")
    {
        resolve::NO_SYMLINKS
    } else {
        0
    }
}

pub(super) fn mount_entry(
    rootfs: &Rootfs,
    root: BorrowedFd,
    index: usize,
    m: &Mount,
) -> Result<()> {
    let ctx = Ctx {
        index,
        dest: m.destination().display().to_string(),
        _m: m,
    };
    let parsed = options::parse(m).map_err(|msg| ctx.config(msg))?;
    if parsed.remount {
        return remount(&ctx, root, m, &parsed);
    }
    let mnt = match &parsed.kind {
        Kind::Bind { recursive } => bind(rootfs, &ctx, root, m, &parsed, *recursive)?,
        Kind::Fs { fstype } if fstype == "cgroup" || fstype == "cgroup2" => {
            return cgroupfs::mount(rootfs, &ctx, root, m, &parsed);
        }
        Kind::Fs { fstype } => new_fs(rootfs, &ctx, root, m, &parsed, fstype)?,
    };
    let _ = mnt;
    Ok(())
}

fn source_path(rootfs: &Rootfs, m: &Mount) -> Option<PathBuf> {
    let src = m.source().as_ref()?;
    Some(if src.is_absolute() {
        src.clone()
    } else {
        rootfs.bundle.join(src)
    })
}

fn bind(
    rootfs: &Rootfs,
    ctx: &Ctx,
    root: BorrowedFd,
    m: &Mount,
    parsed: &Parsed,
    recursive: bool,
) -> Result<OwnedFd> {
    let src = source_path(rootfs, m).ok_or_else(|| ctx.config("bind mount without a source"))?;
    let meta =
        std::fs::metadata(&src).map_err(ctx.err(format!("bind source {}", src.display())))?;
    let tree = match rootfs.idmapped.get(ctx.index).and_then(|t| t.as_ref()) {
        // Built by the runtime before the clone (see idmap.rs).
        Some(prepared) => prepared.try_clone().map_err(ctx.err("idmapped mount"))?,
        None => {
            let flags = api::OPEN_TREE_CLONE | if recursive { api::AT_RECURSIVE } else { 0 };
            api::open_tree(None, &src.to_string_lossy(), flags)
                .map_err(ctx.err(format!("clone mount of {}", src.display())))?
        }
    };
    set_attrs(ctx, tree.as_fd(), parsed)?;
    let kind = if meta.is_dir() {
        NodeKind::Dir
    } else {
        NodeKind::File
    };
    let target = resolve::prepare_target(
        root,
        m.destination(),
        kind,
        strict_target(m.destination(), None),
    )
    .map_err(ctx.err("resolve destination in the rootfs"))?;
    api::move_mount(tree.as_fd(), target.as_fd()).map_err(ctx.err("attach bind mount"))?;
    set_propagation(ctx, tree.as_fd(), parsed)?;
    Ok(tree)
}

fn new_fs(
    rootfs: &Rootfs,
    ctx: &Ctx,
    root: BorrowedFd,
    m: &Mount,
    parsed: &Parsed,
    fstype: &str,
) -> Result<OwnedFd> {
    let fs = FsContext::open(fstype).map_err(ctx.err(format!("filesystem type {fstype:?}")))?;
    let kernel_says = |fs: &FsContext, e: std::io::Error| {
        let msgs = fs.messages();
        if msgs.is_empty() {
            e
        } else {
            std::io::Error::new(e.kind(), format!("{e} ({msgs})"))
        }
    };
    if let Some(src) = m.source().as_ref() {
        let src = src.to_string_lossy();
        if !src.is_empty() {
            fs.set_string("source", &src)
                .map_err(|e| ctx.err(format!("source {src:?}"))(kernel_says(&fs, e)))?;
        }
    }
    for flag in &parsed.sb_flags {
        fs.set_flag(flag)
            .map_err(|e| ctx.err(format!("option {flag:?}"))(kernel_says(&fs, e)))?;
    }
    for (key, value) in &parsed.data {
        let res = match value {
            Some(v) => fs.set_string(key, v),
            None => fs.set_flag(key),
        };
        let shown = value.as_ref().map_or(key.clone(), |v| format!("{key}={v}"));
        res.map_err(|e| ctx.err(format!("option {shown:?}"))(kernel_says(&fs, e)))?;
    }
    fs.create()
        .map_err(|e| ctx.err(format!("create {fstype} filesystem"))(kernel_says(&fs, e)))?;
    let mnt = fs
        .mount(parsed.attrs.set)
        .map_err(|e| ctx.err(format!("mount {fstype}"))(kernel_says(&fs, e)))?;
    let strict = strict_target(m.destination(), Some(fstype));
    let target = resolve::prepare_target(root, m.destination(), NodeKind::Dir, strict)
        .map_err(ctx.err("resolve destination in the rootfs"))?;
    if parsed.tmpcopyup {
        copyup::copy_tree(target.as_fd(), mnt.as_fd())
            .map_err(ctx.err("tmpcopyup: copy the directory's content"))?;
    }
    api::move_mount(mnt.as_fd(), target.as_fd()).map_err(ctx.err("attach mount"))?;
    if !parsed.rec_attrs.is_empty() {
        api::mount_setattr(mnt.as_fd(), true, parsed.rec_attrs, None)
            .map_err(ctx.err("set recursive mount attributes"))?;
    }
    set_propagation(ctx, mnt.as_fd(), parsed)?;
    let _ = rootfs;
    Ok(mnt)
}

/// Applies the per-mount and recursive attributes to a (detached or attached) mount.
pub(super) fn set_attrs(ctx: &Ctx, mnt: BorrowedFd, parsed: &Parsed) -> Result<()> {
    if !parsed.attrs.is_empty() {
        api::mount_setattr(mnt, false, parsed.attrs, None)
            .map_err(ctx.err("set mount attributes"))?;
    }
    if !parsed.rec_attrs.is_empty() {
        api::mount_setattr(mnt, true, parsed.rec_attrs, None)
            .map_err(ctx.err("set recursive mount attributes"))?;
    }
    Ok(())
}

pub(super) fn set_propagation(ctx: &Ctx, mnt: BorrowedFd, parsed: &Parsed) -> Result<()> {
    for &(flag, recursive) in &parsed.propagation {
        let change = AttrChange {
            propagation: flag,
            ..Default::default()
        };
        api::mount_setattr(mnt, recursive, change, None)
            .map_err(ctx.err("set mount propagation"))?;
    }
    Ok(())
}

/// `remount`: change the flags of what is already mounted at the destination.
fn remount(ctx: &Ctx, root: BorrowedFd, m: &Mount, parsed: &Parsed) -> Result<()> {
    let target = resolve::open_in_root(
        root,
        m.destination(),
        libc::O_PATH,
        strict_target(m.destination(), None),
    )
    .map_err(ctx.err("resolve destination in the rootfs"))?;
    if !parsed.data.is_empty() {
        let data: Vec<String> = parsed
            .data
            .iter()
            .map(|(k, v)| v.as_ref().map_or(k.clone(), |v| format!("{k}={v}")))
            .collect();
        let mut flags = libc::MS_REMOUNT;
        if parsed.attrs.set & api::MOUNT_ATTR_RDONLY != 0 {
            flags |= libc::MS_RDONLY;
        }
        api::mount(
            None,
            &api::fd_path(target.as_fd()),
            None,
            flags,
            Some(&data.join(",")),
        )
        .map_err(ctx.err("remount"))?;
    }
    // The mount at the target: re-open it as a mount root so mount_setattr applies to it.
    let mnt = api::open_tree(Some(target.as_fd()), "", api::AT_EMPTY_PATH)
        .map_err(ctx.err("open mount for remount"))?;
    set_attrs(ctx, mnt.as_fd(), parsed)?;
    set_propagation(ctx, mnt.as_fd(), parsed)
}
