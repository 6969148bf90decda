//! Resolving paths inside the container's root without ever leaving it.
//!
//! Every path skiff touches inside the rootfs goes through here: openat2 with
//! RESOLVE_IN_ROOT (symlinks and `..` are resolved as if the rootfs were `/`) and
//! RESOLVE_NO_MAGICLINKS, and missing components are created relative to the fd of
//! their parent, never by re-walking a string (CVE-2024-45310, CVE-2021-30465).

use std::ffi::CString;
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
    let rel = clean(path.as_ref());
    let rel = if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    };
    match openat2(
        root,
        &rel,
        flags,
        0,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra,
    ) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            walk_open(root, &rel, flags, extra & NO_SYMLINKS != 0)
        }
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
    openat2(
        dir,
        path.as_ref(),
        flags,
        0,
        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | NO_SYMLINKS | RESOLVE_NO_XDEV,
    )
}

/// Fallback for kernels without openat2: one component at a time with O_NOFOLLOW,
/// resolving symlinks by hand relative to the root.
fn walk_open(
    root: BorrowedFd,
    rel: &Path,
    flags: i32,
    no_symlinks: bool,
) -> std::io::Result<OwnedFd> {
    let mut pending: Vec<PathBuf> = rel
        .components()
        .rev()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut hops = 0;
    let dup_root = || -> std::io::Result<OwnedFd> { root.try_clone_to_owned() };
    let mut cur = dup_root()?;
    while let Some(comp) = pending.pop() {
        let name = comp.as_os_str();
        if name == "." {
            continue;
        }
        if name == ".." {
            cur = match stack.pop() {
                Some(parent) => parent,
                None => dup_root()?,
            };
            continue;
        }
        let last = pending.is_empty();
        let c = CString::new(name.as_encoded_bytes())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        let open_flags = if last {
            flags | libc::O_NOFOLLOW
        } else {
            libc::O_PATH | libc::O_NOFOLLOW
        };
        // SAFETY: valid dirfd and C string.
        let fd = unsafe { libc::openat(cur.as_raw_fd(), c.as_ptr(), open_flags | libc::O_CLOEXEC) };
        let err = std::io::Error::last_os_error();
        let next = if fd >= 0 {
            // SAFETY: new fd from the kernel.
            unsafe { OwnedFd::from_raw_fd(fd) }
        } else if err.raw_os_error() == Some(libc::ELOOP)
            || (!last && err.raw_os_error() == Some(libc::ENOTDIR))
        {
            // SAFETY: openat with O_PATH|O_NOFOLLOW opens the symlink itself.
            let lfd = unsafe {
                libc::openat(
                    cur.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                )
            };
            if lfd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: new fd from the kernel.
            unsafe { OwnedFd::from_raw_fd(lfd) }
        } else {
            return Err(err);
        };
        let st = nix::sys::stat::fstat(next.as_fd()).map_err(std::io::Error::from)?;
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            if no_symlinks {
                return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
            }
            hops += 1;
            if hops > 40 {
                return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
            }
            let target = nix::fcntl::readlinkat(cur.as_fd(), name).map_err(std::io::Error::from)?;
            let target = PathBuf::from(target);
            if target.is_absolute() {
                stack.clear();
                cur = dup_root()?;
            }
            for comp in target.components().rev() {
                if let Component::Normal(_) | Component::ParentDir = comp {
                    pending.push(PathBuf::from(comp.as_os_str()));
                }
            }
            continue;
        }
        if last {
            return Ok(next);
        }
        stack.push(std::mem::replace(&mut cur, next));
    }
    // The path named the root itself (or ended in `..`).
    let c = CString::new(".").unwrap_or_default();
    // SAFETY: valid dirfd and C string.
    let fd = unsafe { libc::openat(cur.as_raw_fd(), c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: new fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
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
    let rel = clean(path.as_ref());
    let comps: Vec<PathBuf> = rel
        .components()
        .map(|c| PathBuf::from(c.as_os_str()))
        .collect();
    // Find the longest prefix that exists (resolved safely inside the root).
    let mut have = comps.len();
    let mut dir = loop {
        let prefix: PathBuf = comps[..have].iter().collect();
        match open_in_root(root, &prefix, libc::O_PATH | libc::O_DIRECTORY, extra) {
            Ok(fd) => break fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && have > 0 => have -= 1,
            Err(e) => return Err(e),
        }
    };
    for name in &comps[have..] {
        let c = CString::new(name.as_os_str().as_encoded_bytes())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: valid dirfd and C string.
        if unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode) } != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EEXIST) {
                return Err(err);
            }
        }
        // The component was just created (or raced into existence): it must be a plain
        // directory now, not a symlink somebody swapped in.
        dir = openat2(
            dir.as_fd(),
            name,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            RESOLVE_BENEATH | NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        )?;
    }
    Ok(dir)
}

/// Opens (O_PATH) the mount target `path` inside `root`, creating it — and its parents —
/// as `kind` if missing.
pub fn prepare_target(
    root: BorrowedFd,
    path: impl AsRef<Path>,
    kind: NodeKind,
    extra: u64,
) -> std::io::Result<OwnedFd> {
    let rel = clean(path.as_ref());
    match open_in_root(root, &rel, libc::O_PATH, extra) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let Some(name) = rel.file_name().map(|n| n.to_os_string()) else {
        return open_in_root(root, &rel, libc::O_PATH, extra);
    };
    let parent = mkdir_all_in_root(root, rel.parent().unwrap_or(Path::new("")), 0o755, extra)?;
    let c = CString::new(name.as_encoded_bytes())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    match kind {
        NodeKind::Dir => {
            // SAFETY: valid dirfd and C string.
            if unsafe { libc::mkdirat(parent.as_raw_fd(), c.as_ptr(), 0o755) } != 0 {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::EEXIST) {
                    return Err(err);
                }
            }
        }
        NodeKind::File => {
            // SAFETY: valid dirfd and C string; O_EXCL|O_NOFOLLOW never follows a link.
            let fd = unsafe {
                libc::openat(
                    parent.as_raw_fd(),
                    c.as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_NOFOLLOW
                        | libc::O_CLOEXEC
                        | libc::O_WRONLY,
                    0o644,
                )
            };
            if fd >= 0 {
                // SAFETY: closing the fd we just got.
                unsafe { libc::close(fd) };
            } else {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::EEXIST) {
                    return Err(err);
                }
            }
        }
    }
    openat2(
        parent.as_fd(),
        Path::new(&name),
        libc::O_PATH,
        0,
        RESOLVE_BENEATH | NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths() {
        assert_eq!(clean(Path::new("/a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(clean(Path::new("/../../etc")), PathBuf::from("etc"));
        assert_eq!(clean(Path::new("/")), PathBuf::from(""));
    }

    #[test]
    fn symlinks_stay_inside_root() {
        let dir = std::env::temp_dir().join(format!("skiff-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("inside")).unwrap();
        std::os::unix::fs::symlink("/../../../../", dir.join("escape")).unwrap();
        let root = std::fs::File::open(&dir).unwrap();
        let fd = prepare_target(root.as_fd(), "/escape/newdir", NodeKind::Dir, 0).unwrap();
        drop(fd);
        assert!(dir.join("newdir").is_dir(), "created inside the root");
        let err = open_in_root(root.as_fd(), "/escape", libc::O_PATH, NO_SYMLINKS).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
        let walked = walk_open(
            root.as_fd(),
            Path::new("escape/inside"),
            libc::O_PATH,
            false,
        )
        .unwrap();
        drop(walked);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
