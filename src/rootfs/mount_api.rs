//! Thin safe wrappers over the new mount API (Linux 5.2+: open_tree, move_mount, fsopen,
//! fsconfig, fsmount; 5.12+: mount_setattr) and openat2 (5.6+).
//!
//! Mounting this way works on file descriptors end to end: a target is resolved once
//! into an O_PATH fd and the mount is attached to exactly that fd, so nothing can swap a
//! symlink into the path between the check and the mount (CVE-2021-30465 and kin).

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub const OPEN_TREE_CLONE: u32 = 1;
pub const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
pub const AT_RECURSIVE: u32 = 0x8000;
pub const AT_EMPTY_PATH: u32 = libc::AT_EMPTY_PATH as u32;
pub const AT_SYMLINK_NOFOLLOW: u32 = libc::AT_SYMLINK_NOFOLLOW as u32;

const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

const FSOPEN_CLOEXEC: u32 = 1;
const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const FSCONFIG_CMD_RECONFIGURE: u32 = 7;
const FSPICK_CLOEXEC: u32 = 1;
const FSPICK_EMPTY_PATH: u32 = 8;
const FSMOUNT_CLOEXEC: u32 = 1;

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_IDMAP: u64 = 0x100000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x200000;

fn check(ret: libc::c_long) -> std::io::Result<libc::c_long> {
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn owned(ret: libc::c_long) -> std::io::Result<OwnedFd> {
    let fd = check(ret)?;
    // SAFETY: the kernel returned a new fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// A C string of `s`; an interior NUL is an error (never silently cut or dropped).
fn c(s: &str) -> std::io::Result<CString> {
    CString::new(s).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{s:?} contains a NUL byte"),
        )
    })
}

/// open_tree(2): with OPEN_TREE_CLONE, a detached copy of the mount (tree) at `path`.
pub fn open_tree(dirfd: Option<BorrowedFd>, path: &str, flags: u32) -> std::io::Result<OwnedFd> {
    let p = c(path)?;
    let dfd = dirfd.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: valid C string; the kernel returns a new fd or -1.
    owned(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dfd,
            p.as_ptr(),
            flags | OPEN_TREE_CLOEXEC,
        )
    })
}

/// move_mount(2) of the mount `from` onto the absolute path `to` (--no-pivot: the rootfs
/// onto `/`).
pub fn move_mount_to_path(from: BorrowedFd, to: &str) -> std::io::Result<()> {
    let t = c(to)?;
    // SAFETY: an fd we hold, an empty and a valid C string.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    })?;
    Ok(())
}

/// move_mount(2) from a mount fd onto the location `to` refers to.
pub fn move_mount(from: BorrowedFd, to: BorrowedFd) -> std::io::Result<()> {
    // SAFETY: two fds we hold and empty path strings.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })?;
    Ok(())
}

#[repr(C)]
#[derive(Default)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Mount attributes to change on a mount (or a tree of mounts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttrChange {
    pub set: u64,
    pub clr: u64,
    /// MS_PRIVATE, MS_SHARED, MS_SLAVE or MS_UNBINDABLE; 0 = unchanged.
    pub propagation: u64,
}

impl AttrChange {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clr == 0 && self.propagation == 0
    }
}

/// mount_setattr(2) on the mount `fd` refers to; `recursive` applies it to the whole tree.
pub fn mount_setattr(
    fd: BorrowedFd,
    recursive: bool,
    change: AttrChange,
    userns: Option<BorrowedFd>,
) -> std::io::Result<()> {
    let mut attr = MountAttr {
        attr_set: change.set,
        attr_clr: change.clr,
        propagation: change.propagation,
        userns_fd: userns.map_or(0, |u| u.as_raw_fd() as u64),
    };
    let flags = AT_EMPTY_PATH | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: valid fd, empty path and a MountAttr of the size we pass.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &mut attr as *mut MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}

/// A filesystem context being configured (fsopen).
pub struct FsContext {
    fd: OwnedFd,
}

impl FsContext {
    pub fn open(fstype: &str) -> std::io::Result<FsContext> {
        let t = c(fstype)?;
        // SAFETY: valid C string; returns a new fd or -1.
        Ok(FsContext {
            fd: owned(unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) })?,
        })
    }

    /// fspick(2): a context for reconfiguring the superblock of the mount whose root
    /// `mnt` is (the new-API `mount -o remount,...`, by fd instead of a path).
    pub fn pick(mnt: BorrowedFd) -> std::io::Result<FsContext> {
        // SAFETY: an fd we hold and an empty path; returns a new fd or -1.
        Ok(FsContext {
            fd: owned(unsafe {
                libc::syscall(
                    libc::SYS_fspick,
                    mnt.as_raw_fd(),
                    c"".as_ptr(),
                    FSPICK_CLOEXEC | FSPICK_EMPTY_PATH,
                )
            })?,
        })
    }

    pub fn set_flag(&self, key: &str) -> std::io::Result<()> {
        let k = c(key)?;
        // SAFETY: valid fd and C string, NULL value as FSCONFIG_SET_FLAG requires.
        check(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                FSCONFIG_SET_FLAG,
                k.as_ptr(),
                std::ptr::null::<u8>(),
                0,
            )
        })?;
        Ok(())
    }

    pub fn set_string(&self, key: &str, value: &str) -> std::io::Result<()> {
        let (k, v) = (c(key)?, c(value)?);
        // SAFETY: valid fd and C strings.
        check(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                FSCONFIG_SET_STRING,
                k.as_ptr(),
                v.as_ptr(),
                0,
            )
        })?;
        Ok(())
    }

    pub fn create(&self) -> std::io::Result<()> {
        self.command(FSCONFIG_CMD_CREATE)
    }

    /// Applies the options set so far to the picked superblock.
    pub fn reconfigure(&self) -> std::io::Result<()> {
        self.command(FSCONFIG_CMD_RECONFIGURE)
    }

    fn command(&self, cmd: u32) -> std::io::Result<()> {
        // SAFETY: valid fd, no key or value.
        check(unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                self.fd.as_raw_fd(),
                cmd,
                std::ptr::null::<u8>(),
                std::ptr::null::<u8>(),
                0,
            )
        })?;
        Ok(())
    }

    /// A detached mount of the new superblock with the given MOUNT_ATTR_* flags.
    pub fn mount(&self, attrs: u64) -> std::io::Result<OwnedFd> {
        // SAFETY: valid fd; returns a new mount fd or -1.
        owned(unsafe {
            libc::syscall(
                libc::SYS_fsmount,
                self.fd.as_raw_fd(),
                FSMOUNT_CLOEXEC,
                attrs,
            )
        })
    }

    /// The kernel's messages about this context ("e devpts: Unknown parameter 'x'").
    pub fn messages(&self) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 1024];
        loop {
            // SAFETY: read into a buffer we own; the fs context fd hands out one message per read.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            let msg = String::from_utf8_lossy(&buf[..n as usize]);
            out.push(msg.trim_start_matches(['e', 'w', 'i']).trim().to_string());
        }
        out.join("; ")
    }
}

/// mount(2), for what the new API does not express (remounts, propagation of a path).
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> std::io::Result<()> {
    let (s, t) = (source.map(c).transpose()?, c(target)?);
    let (f, d) = (fstype.map(c).transpose()?, data.map(c).transpose()?);
    let ptr = |x: &Option<CString>| x.as_ref().map_or(std::ptr::null(), |x| x.as_ptr());
    // SAFETY: all pointers are NULL or valid C strings that outlive the call.
    let r = unsafe { libc::mount(ptr(&s), t.as_ptr(), ptr(&f), flags, ptr(&d).cast()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The attributes the mount behind `fd` has now (statfs `f_flags`), as MOUNT_ATTR_* bits.
pub fn current_attrs(fd: BorrowedFd) -> std::io::Result<u64> {
    const ST_NOSYMFOLLOW: libc::c_ulong = 0x2000;
    // SAFETY: statvfs is plain data that fstatvfs fills.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: an fd we hold (O_PATH is allowed) and a buffer of the right type.
    if unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let f = st.f_flag;
    let mut attrs = 0;
    for (st_bit, attr) in [
        (libc::ST_RDONLY, MOUNT_ATTR_RDONLY),
        (libc::ST_NOSUID, MOUNT_ATTR_NOSUID),
        (libc::ST_NODEV, MOUNT_ATTR_NODEV),
        (libc::ST_NOEXEC, MOUNT_ATTR_NOEXEC),
        (libc::ST_NODIRATIME, MOUNT_ATTR_NODIRATIME),
        (ST_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
    ] {
        if f & st_bit != 0 {
            attrs |= attr;
        }
    }
    attrs |= if f & libc::ST_NOATIME != 0 {
        MOUNT_ATTR_NOATIME
    } else if f & libc::ST_RELATIME != 0 {
        MOUNT_ATTR_RELATIME
    } else {
        MOUNT_ATTR_STRICTATIME
    };
    Ok(attrs)
}
