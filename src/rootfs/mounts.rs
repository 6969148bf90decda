//! One entry of `mounts`: bind mounts by open_tree + move_mount, other filesystems by
//! fsopen/fsconfig/fsmount + move_mount, both onto the fd of the target resolved inside
//! the rootfs (CVE-2021-30465: a string path re-walked at mount time can be redirected by
//! a symlink swapped in after the check).

use super::mount_api::{self as api, AttrChange, FsContext};
use super::options::{self, Kind, Parsed};
use super::resolve::{self, NodeKind};
use super::{cgroupfs, copyup, Result, Rootfs, RootfsError};
use oci_spec::runtime::Mount;
use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

pub(super) struct Ctx {
    pub index: usize,
    pub dest: String,
}

impl Ctx {
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

/// What the mounts of one config have done so far.
#[derive(Default)]
pub(super) struct Mounted {
    /// Superblocks (st_dev) this setup created. `remount` with filesystem options may
    /// reconfigure only these: any other superblock (the rootfs, a bind source) is shared
    /// with the host, and `remount,ro` of it would make the host's filesystem read-only.
    created: HashSet<u64>,
}

/// Targets where a symlink is never legitimate (CVE-2019-19921: a /proc symlink in the
/// image redirected the proc mount; security.md rule 5).
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
    state: &mut Mounted,
) -> Result<()> {
    let ctx = Ctx {
        index,
        dest: m.destination().display().to_string(),
    };
    let parsed = options::parse(m).map_err(|msg| ctx.config(msg))?;
    if !parsed.ignored.is_empty() {
        log::warn!(
            "mounts[{index}] ({}): ignored {:?}: a bind mount has no filesystem options",
            ctx.dest,
            parsed.ignored
        );
    }
    if parsed.remount {
        return remount(&ctx, root, m, &parsed, state);
    }
    match &parsed.kind {
        Kind::Bind { recursive } => bind(rootfs, &ctx, root, m, &parsed, *recursive),
        Kind::Fs { fstype } if fstype == "cgroup" || fstype == "cgroup2" => {
            cgroupfs::mount(rootfs, &ctx, root, m, &parsed, fstype)
        }
        Kind::Fs { fstype } => new_fs(&ctx, root, m, &parsed, fstype, state),
    }
}

/// A bind source: absolute, or relative to the bundle (runc resolves it so too).
fn source_path(rootfs: &Rootfs, m: &Mount) -> Option<PathBuf> {
    let src = m.source().as_ref()?;
    Some(if src.is_absolute() {
        src.clone()
    } else {
        rootfs.bundle.join(src)
    })
}

fn kind_of(fd: BorrowedFd) -> std::io::Result<NodeKind> {
    let st = nix::sys::stat::fstat(fd).map_err(std::io::Error::from)?;
    Ok(if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        NodeKind::Dir
    } else {
        NodeKind::File
    })
}

fn bind(
    rootfs: &Rootfs,
    ctx: &Ctx,
    root: BorrowedFd,
    m: &Mount,
    parsed: &Parsed,
    recursive: bool,
) -> Result<()> {
    let tree = match rootfs.idmapped.get(ctx.index).and_then(|t| t.as_ref()) {
        // Built by the runtime before the clone (see idmap.rs).
        Some(prepared) => prepared.try_clone().map_err(ctx.err("idmapped mount"))?,
        None => {
            // The source is a host path chosen by the caller. It is cloned once, and its
            // kind is taken from the clone, so what is checked is what gets mounted.
            let src =
                source_path(rootfs, m).ok_or_else(|| ctx.config("bind mount without a source"))?;
            let flags = api::OPEN_TREE_CLONE | if recursive { api::AT_RECURSIVE } else { 0 };
            api::open_tree(None, &src.to_string_lossy(), flags)
                .map_err(ctx.err(format!("bind source {}", src.display())))?
        }
    };
    let kind = kind_of(tree.as_fd()).map_err(ctx.err("stat bind source"))?;
    set_attrs(ctx, tree.as_fd(), parsed)?;
    let target = resolve::prepare_target(
        root,
        m.destination(),
        kind,
        strict_target(m.destination(), None),
    )
    .map_err(ctx.err("resolve destination in the rootfs"))?;
    api::move_mount(tree.as_fd(), target.as_fd()).map_err(ctx.err("attach bind mount"))?;
    set_propagation(ctx, tree.as_fd(), parsed)
}

fn new_fs(
    ctx: &Ctx,
    root: BorrowedFd,
    m: &Mount,
    parsed: &Parsed,
    fstype: &str,
    state: &mut Mounted,
) -> Result<()> {
    let strict = strict_target(m.destination(), Some(fstype));
    let target = resolve::prepare_target(root, m.destination(), NodeKind::Dir, strict)
        .map_err(ctx.err("resolve destination in the rootfs"))?;
    let copy_from = if parsed.tmpcopyup {
        Some(
            nix::sys::stat::fstat(target.as_fd())
                .map_err(|e| ctx.err("tmpcopyup: stat")(e.into()))?,
        )
    } else {
        None
    };
    let mnt = match create_fs(ctx, m, parsed, fstype, copy_from.as_ref()) {
        // sysfs refuses a new instance to a user namespace that does not own the network
        // namespace; runc binds the host's /sys instead, read-only and nosuid/nodev/noexec
        // as asked, applied to the whole tree so no host submount stays writable.
        Err(e) if fstype == "sysfs" && is_eperm(&e) => {
            log::debug!(
                "mounts[{}]: sysfs not permitted here, binding /sys",
                ctx.index
            );
            let tree = api::open_tree(None, "/sys", api::OPEN_TREE_CLONE | api::AT_RECURSIVE)
                .map_err(ctx.err("bind /sys (a new sysfs was not permitted)"))?;
            let rec = Parsed {
                rec_attrs: merge(parsed.attrs, parsed.rec_attrs),
                attrs: AttrChange::default(),
                ..parsed.clone()
            };
            set_attrs(ctx, tree.as_fd(), &rec)?;
            tree
        }
        other => other?,
    };
    if copy_from.is_some() {
        copyup::copy_tree(target.as_fd(), mnt.as_fd())
            .map_err(ctx.err("tmpcopyup: copy the directory's content"))?;
    }
    if !parsed.rec_attrs.is_empty() {
        keep_locked(ctx, mnt.as_fd(), true, parsed.rec_attrs)?;
    }
    if let Ok(st) = nix::sys::stat::fstat(mnt.as_fd()) {
        state.created.insert(st.st_dev);
    }
    api::move_mount(mnt.as_fd(), target.as_fd()).map_err(ctx.err("attach mount"))?;
    set_propagation(ctx, mnt.as_fd(), parsed)
}

fn is_eperm(e: &RootfsError) -> bool {
    matches!(e, RootfsError::Mount { source, .. } if source.raw_os_error() == Some(libc::EPERM))
}

fn merge(a: AttrChange, b: AttrChange) -> AttrChange {
    AttrChange {
        set: a.set | b.set,
        clr: a.clr | b.clr,
        propagation: b.propagation,
    }
}

/// fsopen + fsconfig + fsmount: a detached mount of a new filesystem. fsconfig takes one
/// option at a time, so the kernel's error names the exact option it refuses.
fn create_fs(
    ctx: &Ctx,
    m: &Mount,
    parsed: &Parsed,
    fstype: &str,
    copy_from: Option<&libc::stat>,
) -> Result<OwnedFd> {
    let fs = FsContext::open(fstype).map_err(ctx.err(format!("filesystem type {fstype:?}")))?;
    let failed = |what: String| {
        let fs = &fs;
        move |e: std::io::Error| {
            let msgs = fs.messages();
            let e = if msgs.is_empty() {
                e
            } else {
                std::io::Error::new(e.kind(), format!("{e} ({msgs})"))
            };
            ctx.err(what)(e)
        }
    };
    if let Some(src) = m.source().as_ref() {
        let src = src.to_string_lossy();
        if !src.is_empty() {
            fs.set_string("source", &src)
                .map_err(failed(format!("source {src:?}")))?;
        }
    }
    for flag in &parsed.sb_flags {
        fs.set_flag(flag)
            .map_err(failed(format!("option {flag:?}")))?;
    }
    for (key, value) in &parsed.data {
        let res = match value {
            Some(v) => fs.set_string(key, v),
            None => fs.set_flag(key),
        };
        let shown = value.as_ref().map_or(key.clone(), |v| format!("{key}={v}"));
        if res.is_err() && unmapped_devpts_gid(fstype, key, value.as_deref()) {
            // The default configs ask for gid=5 (tty); a user namespace that does not
            // map it (one joined by path, or mapping only root) makes devpts refuse it.
            // The ptys then belong to the namespace's root group: more restrictive.
            log::warn!(
                "mounts[{}] ({}): {shown}: gid not mapped in the user namespace, ignored",
                ctx.index,
                ctx.dest
            );
            let _ = fs.messages();
            continue;
        }
        res.map_err(failed(format!("option {shown:?}")))?;
    }
    if let Some(st) = copy_from {
        // tmpcopyup: the new tmpfs stands in for the directory, so its root gets the
        // directory's mode and owner unless the config says otherwise. (The fsmount fd
        // is O_PATH: fchmod/fchown on it would fail, so this goes through fsconfig.)
        let given = |k: &str| parsed.data.iter().any(|(key, _)| key == k);
        for (key, value) in [
            ("mode", format!("{:o}", st.st_mode & 0o7777)),
            ("uid", st.st_uid.to_string()),
            ("gid", st.st_gid.to_string()),
        ] {
            if !given(key) {
                fs.set_string(key, &value)
                    .map_err(failed(format!("tmpcopyup: option {key}={value}")))?;
            }
        }
    }
    fs.create()
        .map_err(failed(format!("create {fstype} filesystem")))?;
    fs.mount(parsed.attrs.set)
        .map_err(failed(format!("mount {fstype}")))
}

/// A numeric devpts `gid=` whose group the caller's user namespace does not map.
fn unmapped_devpts_gid(fstype: &str, key: &str, value: Option<&str>) -> bool {
    let Some(gid) = value.and_then(|v| v.parse::<u32>().ok()) else {
        return false;
    };
    if fstype != "devpts" || key != "gid" {
        return false;
    }
    let map = super::procfs::Procfs::open()
        .and_then(|p| p.read_self("gid_map"))
        .unwrap_or_default();
    !map.lines().any(|l| {
        let f: Vec<u64> = l
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        f.len() == 3 && (f[0]..f[0] + f[2]).contains(&u64::from(gid))
    })
}

/// Applies the per-mount and recursive attributes to a (detached or attached) mount.
pub(super) fn set_attrs(ctx: &Ctx, mnt: BorrowedFd, parsed: &Parsed) -> Result<()> {
    keep_locked(ctx, mnt, false, parsed.attrs)?;
    keep_locked(ctx, mnt, true, parsed.rec_attrs)
}

/// mount_setattr that keeps flags the kernel has locked. A mount copied into a user
/// namespace's mount namespace from a more privileged one keeps its ro/nosuid/nodev/
/// noexec/atime flags locked (mount_namespaces(7)); clearing one fails with EPERM. Like
/// runc, skiff then keeps the flags the mount has (only ever more restrictive than asked)
/// and applies the rest.
fn keep_locked(ctx: &Ctx, mnt: BorrowedFd, recursive: bool, change: AttrChange) -> Result<()> {
    if change.is_empty() {
        return Ok(());
    }
    let what = if recursive {
        "set recursive mount attributes"
    } else {
        "set mount attributes"
    };
    let err = match api::mount_setattr(mnt, recursive, change, None) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => e,
        Err(e) => return Err(ctx.err(what)(e)),
    };
    let now = api::current_attrs(mnt).map_err(ctx.err("read mount attributes"))?;
    let mut kept = change;
    kept.clr &= !(now & !api::MOUNT_ATTR__ATIME);
    if change.clr & api::MOUNT_ATTR__ATIME != 0 {
        kept.clr &= !api::MOUNT_ATTR__ATIME;
        kept.set &= !api::MOUNT_ATTR__ATIME;
    }
    if kept == change {
        return Err(ctx.err(what)(err));
    }
    api::mount_setattr(mnt, recursive, kept, None).map_err(ctx.err(what))?;
    log::warn!(
        "mounts[{}] ({}): kept mount flags locked by the kernel ({:#x}); applied the others",
        ctx.index,
        ctx.dest,
        now
    );
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

/// `remount`: change what is already mounted at the destination. Mount attributes and
/// propagation by mount_setattr; filesystem options by fspick + reconfigure, and only on
/// a filesystem this setup mounted (see [`Mounted`]).
fn remount(ctx: &Ctx, root: BorrowedFd, m: &Mount, parsed: &Parsed, state: &Mounted) -> Result<()> {
    let target = resolve::open_in_root(
        root,
        m.destination(),
        libc::O_PATH,
        strict_target(m.destination(), None),
    )
    .map_err(ctx.err("resolve destination in the rootfs"))?;
    if !parsed.data.is_empty() || !parsed.sb_flags.is_empty() {
        let st = nix::sys::stat::fstat(target.as_fd())
            .map_err(|e| ctx.err("stat destination")(e.into()))?;
        if !state.created.contains(&st.st_dev) {
            return Err(ctx.config(
                "remount with filesystem options applies only to a filesystem mounted by an earlier entry of this config (anything else may be shared with the host)",
            ));
        }
        let fs =
            FsContext::pick(target.as_fd()).map_err(ctx.err("remount: pick the filesystem"))?;
        for flag in &parsed.sb_flags {
            fs.set_flag(flag)
                .map_err(ctx.err(format!("remount: option {flag:?}")))?;
        }
        for (key, value) in &parsed.data {
            let res = match value {
                Some(v) => fs.set_string(key, v),
                None => fs.set_flag(key),
            };
            res.map_err(ctx.err(format!("remount: option {key:?}")))?;
        }
        fs.reconfigure().map_err(|e| {
            let msgs = fs.messages();
            ctx.err(format!("remount ({msgs})"))(e)
        })?;
    }
    set_attrs(ctx, target.as_fd(), parsed).map_err(|e| match e {
        RootfsError::Mount { source, .. } if source.raw_os_error() == Some(libc::EINVAL) => {
            ctx.config("remount: nothing is mounted at the destination")
        }
        other => other,
    })?;
    set_propagation(ctx, target.as_fd(), parsed)
}
