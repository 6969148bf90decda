//! Device nodes in the container's /dev: the default set every container gets, the
//! config's `linux.devices`, and the standard symlinks.
//!
//! /dev is opened once, refusing symlinks (CVE-2026-41579: an image with /dev → a host
//! directory made runc create and remove files there), and every node and link is made
//! relative to that fd. In a user namespace mknod is not allowed: the host's node is
//! bind-mounted onto an empty file instead.

use super::mount_api as api;
use super::resolve;
use super::{sys_err, Result, Rootfs, RootfsError};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

struct Node<'a> {
    /// Path below /dev.
    rel: &'a Path,
    kind: libc::mode_t,
    major: u64,
    minor: u64,
    mode: u32,
    uid: u32,
    gid: u32,
}

const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("tty", 5, 0),
    ("random", 1, 8),
    ("urandom", 1, 9),
];

const LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

fn open_dev(root: BorrowedFd) -> Result<OwnedFd> {
    resolve::mkdir_all_in_root(root, "/dev", 0o755, resolve::NO_SYMLINKS).map_err(sys_err(
        "/dev",
        "open the container's /dev (it must be a directory, not a symlink)",
    ))
}

pub(super) fn create_defaults(root: BorrowedFd) -> Result<()> {
    let dev = open_dev(root)?;
    for (name, major, minor) in DEFAULT_DEVICES {
        let node = Node {
            rel: Path::new(name),
            kind: libc::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        };
        make_node(dev.as_fd(), &node).map_err(sys_err(format!("/dev/{name}"), "create device"))?;
    }
    for (name, target) in LINKS {
        replace_with_symlink(dev.as_fd(), name, target).map_err(sys_err(
            format!("/dev/{name}"),
            format!("symlink to {target}"),
        ))?;
    }
    if Path::new("/proc/kcore").exists() {
        replace_with_symlink(dev.as_fd(), "core", "/proc/kcore")
            .map_err(sys_err("/dev/core", "symlink to /proc/kcore"))?;
    }
    Ok(())
}

pub(super) fn create_configured(rootfs: &Rootfs, root: BorrowedFd) -> Result<()> {
    let devices = rootfs
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref());
    let Some(devices) = devices.filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let dev = open_dev(root)?;
    for (i, d) in devices.iter().enumerate() {
        let field = format!("linux.devices[{i}]");
        let rel = d
            .path()
            .strip_prefix("/dev")
            .map_err(|_| RootfsError::Config {
                field: field.clone(),
                msg: "path is not under /dev".into(),
            })?;
        let (major, minor) = match (u32::try_from(d.major()), u32::try_from(d.minor())) {
            (Ok(major), Ok(minor)) => (major as u64, minor as u64),
            // A FIFO needs no numbers; validation already refused negative ones otherwise.
            _ if d.typ() == LinuxDeviceType::P => (0, 0),
            _ => {
                return Err(RootfsError::Config {
                    field,
                    msg: format!("major {} / minor {} out of range", d.major(), d.minor()),
                })
            }
        };
        let node = Node {
            rel,
            kind: kind_of(d),
            major,
            minor,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        };
        make_node(dev.as_fd(), &node)
            .map_err(sys_err(field, format!("create {}", d.path().display())))?;
    }
    Ok(())
}

fn kind_of(d: &LinuxDevice) -> libc::mode_t {
    match d.typ() {
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        _ => libc::S_IFCHR,
    }
}

fn cname(s: &std::ffi::OsStr) -> std::io::Result<CString> {
    CString::new(s.as_encoded_bytes()).map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
}

fn make_node(dev: BorrowedFd, node: &Node) -> std::io::Result<()> {
    let parent_rel = node.rel.parent().unwrap_or(Path::new(""));
    let parent = if parent_rel.as_os_str().is_empty() {
        dev.try_clone_to_owned()?
    } else {
        resolve::mkdir_all_in_root(dev, parent_rel, 0o755, resolve::NO_SYMLINKS)?
    };
    let name = cname(
        node.rel
            .file_name()
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))?,
    )?;
    let rdev = libc::makedev(node.major as u32, node.minor as u32);
    // Whatever the image has at the path (file, link, wrong node) is replaced.
    // SAFETY: unlinkat relative to a directory fd we hold.
    unsafe { libc::unlinkat(parent.as_raw_fd(), name.as_ptr(), 0) };
    // SAFETY: mknodat relative to a directory fd we hold.
    let made = unsafe {
        libc::mknodat(
            parent.as_raw_fd(),
            name.as_ptr(),
            node.kind | (node.mode as libc::mode_t),
            rdev,
        )
    };
    if made != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EPERM) || node.kind == libc::S_IFIFO {
            return Err(err);
        }
        // No mknod in a user namespace: bind the host's device onto an empty file.
        return bind_host_device(parent.as_fd(), &name, node);
    }
    // Owner first, then mode: chown of a non-directory clears setuid/setgid, and
    // mknod's mode was reduced by the umask.
    // SAFETY: fchownat/fchmodat relative to the directory fd, on the node just made
    // there, not following links.
    unsafe {
        if libc::fchownat(
            parent.as_raw_fd(),
            name.as_ptr(),
            node.uid,
            node.gid,
            libc::AT_SYMLINK_NOFOLLOW,
        ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        if libc::fchmodat(
            parent.as_raw_fd(),
            name.as_ptr(),
            node.mode as libc::mode_t,
            0,
        ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn bind_host_device(parent: BorrowedFd, name: &CString, node: &Node) -> std::io::Result<()> {
    let host = Path::new("/dev").join(node.rel);
    let tree = api::open_tree(None, &host.to_string_lossy(), api::OPEN_TREE_CLONE)?;
    let st = nix::sys::stat::fstat(tree.as_fd()).map_err(std::io::Error::from)?;
    let rdev = libc::makedev(node.major as u32, node.minor as u32);
    if st.st_mode & libc::S_IFMT != node.kind || st.st_rdev != rdev {
        return Err(std::io::Error::other(format!(
            "mknod is not permitted here (user namespace) and the host's {} is not the same device to bind instead",
            host.display()
        )));
    }
    // SAFETY: openat relative to the directory fd; O_EXCL|O_NOFOLLOW never follows a link.
    let fd = unsafe {
        libc::openat(
            parent.as_raw_fd(),
            name.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_WRONLY,
            0o644,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: closing the fd we just got.
    unsafe { libc::close(fd) };
    let target =
        resolve::open_beneath_strict(parent, OsStr::from_bytes(name.as_bytes()), libc::O_PATH)?;
    api::move_mount(tree.as_fd(), target.as_fd())
}

fn replace_with_symlink(dev: BorrowedFd, name: &str, target: &str) -> std::io::Result<()> {
    let (n, t) = (CString::new(name)?, CString::new(target)?);
    // SAFETY: unlinkat/symlinkat relative to the /dev fd we hold.
    unsafe {
        libc::unlinkat(dev.as_raw_fd(), n.as_ptr(), 0);
        if libc::symlinkat(t.as_ptr(), dev.as_raw_fd(), n.as_ptr()) != 0 {
            let err = std::io::Error::last_os_error();
            // A directory (e.g. /dev/fd in the image) stays as it is.
            if err.raw_os_error() != Some(libc::EEXIST) {
                return Err(err);
            }
        }
    }
    Ok(())
}

/// Checks that `fd` is the real null device (char 1:3), so masking with it cannot expose
/// or overwrite another file (CVE-2025-31133: /dev/null swapped for a symlink).
pub(super) fn is_dev_null(fd: BorrowedFd) -> bool {
    nix::sys::stat::fstat(fd).is_ok_and(|st| {
        st.st_mode & libc::S_IFMT == libc::S_IFCHR
            && libc::major(st.st_rdev) == 1
            && libc::minor(st.st_rdev) == 3
    })
}
