//! Resolving paths inside the container's root without ever leaving it.
//!
//! Every path skiff touches inside the rootfs goes through here: openat2 with
//! RESOLVE_IN_ROOT (symlinks and `..` are resolved as if the rootfs were `/`) and
//! RESOLVE_NO_MAGICLINKS, and missing components are created relative to the fd of
//! their parent, never by re-walking a string (CVE-2024-45310, CVE-2021-30465).

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

const RESOLVE_NO_XDEV: u64 = 0x01;
const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// Refuse any symlink on the way (for /dev, /proc, /sys targets and device files).
pub const NO_SYMLINKS: u64 = 0x04;
const RESOLVE_BENEATH: u64 = 0x08;
const RESOLVE_IN_ROOT: u64 = 0x10;
/// Stay on the starting mount (procfs writes must not be redirected by an overmount).
pub const NO_XDEV: u64 = RESOLVE_NO_XDEV;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn openat2(
    dirfd: BorrowedFd,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> std::io::Result<OwnedFd> {
    let p = CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    loop {
        // SAFETY: valid dirfd, C string and open_how of the size passed.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd.as_raw_fd(),
                p.as_ptr(),
                &mut how as *mut OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel returned a new fd nobody else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) });
        }
        let err = std::io::Error::last_os_error();
        // openat2 reports EAGAIN when a concurrent rename/mount raced the lookup.
        if err.raw_os_error() != Some(libc::EAGAIN) {
            return Err(err);
        }
    }
}

/// Lexically cleans `path` as a path inside a root: drops `.`, folds `..` (never above
/// the root) and makes it relative.
pub fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for comp in path.components() {
        match comp {
            Component::Normal(c) => out.push(c),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Opens `path` inside `root` with open(2) `flags` (O_PATH allowed).
pub fn open_in_root(
    root: BorrowedFd,
    path: impl AsRef<Path>,
    flags: i32,
    extra: u64,
) -> std::io::Result<OwnedFd> {
    let rel = relative(path.as_ref());
    match openat2(
        root,
        &rel,
        flags,
        0,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra,
    ) {
        Err(e) if openat2_unavailable(&e) => walk(root, &rel, Walk::open(flags, extra)),
        other => other,
    }
}

/// Opens a path below `dir` that must not be a symlink anywhere and must stay on the same
/// mount (procfs and sysfs writes, so an overmount cannot redirect them).
pub fn open_beneath_strict(
    dir: BorrowedFd,
    path: impl AsRef<Path>,
    flags: i32,
) -> std::io::Result<OwnedFd> {
    match openat2(
        dir,
        path.as_ref(),
        flags,
        0,
        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | NO_SYMLINKS | RESOLVE_NO_XDEV,
    ) {
        Err(e) if openat2_unavailable(&e) => strict_walk(dir, path.as_ref(), flags, false),
        other => other,
    }
}

/// Like [`open_beneath_strict`], but the `self` and `thread-self` links at the top of a
/// procfs handle may be followed (they are plain links to `<pid>`, not magic links).
pub fn open_beneath_proc_self(
    proc: BorrowedFd,
    path: impl AsRef<Path>,
    flags: i32,
) -> std::io::Result<OwnedFd> {
    match openat2(
        proc,
        path.as_ref(),
        flags,
        0,
        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
    ) {
        Err(e) if openat2_unavailable(&e) => strict_walk(proc, path.as_ref(), flags, true),
        other => other,
    }
}

/// The mount id of `fd` (statx STATX_MNT_ID, Linux 5.8+).
fn mount_id(fd: BorrowedFd) -> std::io::Result<u64> {
    const STATX_MNT_ID: u32 = 0x1000;
    // SAFETY: statx is plain data that the kernel fills.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: an fd we hold, an empty path with AT_EMPTY_PATH and a buffer of the type.
    let r = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
            STATX_MNT_ID,
            &mut stx,
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(stx.stx_mnt_id)
}

/// Userspace [`open_beneath_strict`]: one component at a time with O_NOFOLLOW, no `..`,
/// no symlink (but `self`/`thread-self` first when `proc_self`), and every component on
/// the mount `dir` is on (an overmount changes the mount id: EXDEV, as RESOLVE_NO_XDEV).
fn strict_walk(
    dir: BorrowedFd,
    path: &Path,
    flags: i32,
    proc_self: bool,
) -> std::io::Result<OwnedFd> {
    let mnt = mount_id(dir)?;
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, path);
    let mut cur = dir.try_clone_to_owned()?;
    let mut first = true;
    while let Some(name) = pending.pop() {
        if name == ".." {
            return Err(std::io::Error::from_raw_os_error(libc::EXDEV));
        }
        let last = pending.is_empty();
        let c = cstr(&name)?;
        let next = openat_raw(cur.as_fd(), &c, libc::O_PATH | libc::O_NOFOLLOW)?;
        if is_symlink(next.as_fd())? {
            if !(proc_self && first && (name == "self" || name == "thread-self")) {
                return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target =
                nix::fcntl::readlinkat(cur.as_fd(), c.as_c_str()).map_err(std::io::Error::from)?;
            let target = PathBuf::from(target);
            if target.is_absolute() || target.components().any(|c| c == Component::ParentDir) {
                return Err(std::io::Error::from_raw_os_error(libc::EXDEV));
            }
            push_components(&mut pending, &target);
            first = false;
            continue;
        }
        first = false;
        if mount_id(next.as_fd())? != mnt {
            return Err(std::io::Error::from_raw_os_error(libc::EXDEV));
        }
        if last {
            return if flags & libc::O_PATH != 0 && flags & libc::O_DIRECTORY == 0 {
                Ok(next)
            } else {
                // Reopen what was checked, relative to its parent, still O_NOFOLLOW, and
                // make sure it is the same object.
                let fd = openat_raw(cur.as_fd(), &c, flags | libc::O_NOFOLLOW)?;
                let (a, b) = (
                    nix::sys::stat::fstat(fd.as_fd()).map_err(std::io::Error::from)?,
                    nix::sys::stat::fstat(next.as_fd()).map_err(std::io::Error::from)?,
                );
                if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino) {
                    return Err(std::io::Error::from_raw_os_error(libc::EAGAIN));
                }
                Ok(fd)
            };
        }
        cur = next;
    }
    openat_raw(cur.as_fd(), c".", flags)
}

/// What to create at a mount target that does not exist yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Dir,
    File,
}

/// Opens (O_PATH) the directory `path` inside `root`, creating missing components with
/// `mode` relative to their parent's fd.
pub fn mkdir_all_in_root(
    root: BorrowedFd,
    path: impl AsRef<Path>,
    mode: u32,
    extra: u64,
) -> std::io::Result<OwnedFd> {
    let flags = libc::O_PATH | libc::O_DIRECTORY;
    match open_in_root(root, path.as_ref(), flags, extra) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            let rel = relative(path.as_ref());
            walk(root, &rel, Walk::create(flags, extra, NodeKind::Dir, mode))
        }
        other => other,
    }
}

/// Opens (O_PATH) the mount target `path` inside `root`, creating it — and its parents —
/// as `kind` if missing. A dangling symlink on the way is followed inside the root and
/// the missing node is created where it points (as runc's MkdirAllInRoot does: an image's
/// `/etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf` gets its target created).
pub fn prepare_target(
    root: BorrowedFd,
    path: impl AsRef<Path>,
    kind: NodeKind,
    extra: u64,
) -> std::io::Result<OwnedFd> {
    match open_in_root(root, path.as_ref(), libc::O_PATH, extra) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            let mode = if kind == NodeKind::Dir { 0o755 } else { 0o644 };
            let rel = relative(path.as_ref());
            walk(root, &rel, Walk::create(libc::O_PATH, extra, kind, mode))
        }
        other => other,
    }
}

/// Seccomp profiles of an outer runtime often deny openat2 (ENOSYS or EPERM); old kernels
/// lack it. The walker below gives the same guarantees in userspace.
fn openat2_unavailable(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::EPERM))
}

/// The cleaned relative form of `path`, `.` for the root itself.
fn relative(path: &Path) -> PathBuf {
    let rel = clean(path);
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

fn cstr(name: &OsStr) -> std::io::Result<CString> {
    CString::new(name.as_encoded_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

/// How [`walk`] opens the last component and what it may create.
#[derive(Clone, Copy)]
struct Walk {
    flags: i32,
    no_symlinks: bool,
    create: Option<(NodeKind, u32)>,
}

impl Walk {
    fn open(flags: i32, extra: u64) -> Walk {
        Walk {
            flags,
            no_symlinks: extra & NO_SYMLINKS != 0,
            create: None,
        }
    }

    fn create(flags: i32, extra: u64, kind: NodeKind, mode: u32) -> Walk {
        Walk {
            create: Some((kind, mode)),
            ..Walk::open(flags, extra)
        }
    }
}

fn openat_raw(dir: BorrowedFd, name: &CStr, flags: i32) -> std::io::Result<OwnedFd> {
    // SAFETY: valid dirfd and C string; the kernel returns a new fd or -1.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a new fd nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn is_symlink(fd: BorrowedFd) -> std::io::Result<bool> {
    let st = nix::sys::stat::fstat(fd).map_err(std::io::Error::from)?;
    Ok(st.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// Creates `name` in `dir` as `kind`; an existing entry is left for the caller to open.
fn create_node(dir: BorrowedFd, name: &CStr, kind: NodeKind, mode: u32) -> std::io::Result<()> {
    let res = match kind {
        // SAFETY: mkdirat relative to a directory fd we hold, with a valid C string.
        NodeKind::Dir => unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) },
        NodeKind::File => {
            // O_EXCL|O_NOFOLLOW: never follows a link swapped in at the last moment.
            let flags = libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_WRONLY;
            // SAFETY: openat relative to a directory fd we hold, with a valid C string.
            let fd = unsafe {
                libc::openat(
                    dir.as_raw_fd(),
                    name.as_ptr(),
                    flags | libc::O_CLOEXEC,
                    mode,
                )
            };
            if fd >= 0 {
                // SAFETY: closing the fd we just got.
                unsafe { libc::close(fd) };
            }
            fd.min(0)
        }
    };
    if res != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EEXIST) {
            return Err(err);
        }
    }
    Ok(())
}

/// Resolves `rel` below `root` one component at a time, never following a link by the
/// kernel: each component is opened O_NOFOLLOW relative to its parent's fd, symlinks are
/// read and resolved by hand with `root` as `/`, and `..` pops back to a parent fd we
/// already hold (never above `root`). Missing components are created when asked, also
/// relative to the parent fd (CVE-2024-45310: runc's MkdirAll followed a swapped symlink
/// and created directories on the host). Used when openat2 is unavailable and to create
/// mount targets.
fn walk(root: BorrowedFd, rel: &Path, w: Walk) -> std::io::Result<OwnedFd> {
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, rel);
    let mut parents: Vec<OwnedFd> = Vec::new();
    let mut cur = root.try_clone_to_owned()?;
    let (mut links, mut creations) = (0, 0);
    while let Some(name) = pending.pop() {
        if name == ".." {
            cur = match parents.pop() {
                Some(parent) => parent,
                None => root.try_clone_to_owned()?,
            };
            continue;
        }
        let last = pending.is_empty();
        let c = cstr(&name)?;
        let flags = if last { w.flags } else { libc::O_PATH } | libc::O_NOFOLLOW;
        let opened = match openat_raw(cur.as_fd(), &c, flags) {
            // O_NOFOLLOW without O_PATH fails on a symlink (ELOOP, or ENOTDIR with
            // O_DIRECTORY): open the link itself to follow it by hand.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                match openat_raw(cur.as_fd(), &c, libc::O_PATH | libc::O_NOFOLLOW) {
                    Ok(fd) if is_symlink(fd.as_fd())? => Ok(fd),
                    _ => Err(e),
                }
            }
            other => other,
        };
        let next = match opened {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && w.create.is_some() => {
                let (kind, mode) = w.create.unwrap_or((NodeKind::Dir, 0o755));
                let kind = if last { kind } else { NodeKind::Dir };
                creations += 1;
                if creations > 256 {
                    return Err(e);
                }
                create_node(cur.as_fd(), &c, kind, if last { mode } else { 0o755 })?;
                pending.push(name);
                continue;
            }
            Err(e) => return Err(e),
        };
        if is_symlink(next.as_fd())? {
            links += 1;
            if w.no_symlinks || links > 40 {
                return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target =
                nix::fcntl::readlinkat(cur.as_fd(), c.as_c_str()).map_err(std::io::Error::from)?;
            let target = PathBuf::from(target);
            if target.is_absolute() {
                parents.clear();
                cur = root.try_clone_to_owned()?;
            }
            push_components(&mut pending, &target);
            continue;
        }
        if last {
            return Ok(next);
        }
        parents.push(std::mem::replace(&mut cur, next));
    }
    // The path named the root itself, or ended in `..`.
    openat_raw(cur.as_fd(), c".", w.flags)
}

/// Pushes the components of `path` so that the first one is popped first.
fn push_components(pending: &mut Vec<OsString>, path: &Path) {
    for comp in path.components().rev() {
        match comp {
            Component::Normal(n) => pending.push(n.to_os_string()),
            Component::ParentDir => pending.push(OsString::from("..")),
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "tests/resolve.rs"]
mod tests;
