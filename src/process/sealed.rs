//! Running from a sealed view of the skiff binary (CVE-2019-5736).
//!
//! The container process replaces skiff's init by execve. If the image's program is
//! `#!/proc/self/exe` (or the args name /proc/self/exe), the kernel resolves that in the
//! init, i.e. to the executable skiff runs from. When that is the host's skiff file, a
//! process in the container can open it through /proc/<pid>/exe and overwrite the host
//! binary. So the commands that start container processes first re-execute skiff from a
//! view of the binary that cannot be written:
//!
//! - a private, read-only overlayfs of the binary's directory (runc 1.2's approach):
//!   detached from every mount namespace, zero-copy (the page cache is shared with the
//!   file), writes fail with EROFS;
//! - else a memfd copy sealed against writes, shrinking and growing.
//!
//! A binary that is already unwritable (sealed memfd, or on a read-only mount) is used
//! as it is.

use crate::rootfs::mount_api::{self, FsContext};
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

const F_SEAL_EXEC: libc::c_int = 0x0020;

/// Whether the running binary cannot be written: a sealed memfd, or on a read-only mount
/// (which includes the private overlay this module makes).
pub fn is_sealed() -> bool {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: fcntl on an fd we own; F_GET_SEALS fails with EINVAL on non-memfd files.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 && seals & libc::F_SEAL_WRITE != 0 && seals & libc::F_SEAL_SEAL != 0 {
        return true;
    }
    nix::sys::statvfs::fstatvfs(exe.as_fd())
        .is_ok_and(|v| v.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
}

/// Re-executes the current command from a sealed view of the binary unless already
/// running from one. Returns only on failure (or when already sealed).
pub fn ensure_sealed() -> std::io::Result<()> {
    if is_sealed() {
        return Ok(());
    }
    let sealed = match overlay_view() {
        Ok(fd) => fd,
        Err(_) => sealed_copy()?,
    };
    let args: Vec<CString> = std::env::args_os()
        .map(|a| cstring(a.into_encoded_bytes()))
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_encoded_bytes();
            kv.push(b'=');
            kv.extend(v.into_encoded_bytes());
            cstring(kv)
        })
        .collect();
    let argv: Vec<*const libc::c_char> = args
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp: Vec<*const libc::c_char> = env
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: argv/envp are NULL-terminated arrays of valid C strings that outlive the call.
    unsafe {
        libc::execveat(
            sealed.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr() as *const *mut libc::c_char,
            envp.as_ptr() as *const *mut libc::c_char,
            libc::AT_EMPTY_PATH,
        );
    }
    Err(std::io::Error::last_os_error())
}

/// Escapes a path for overlayfs' `lowerdir` list (`:` separates layers, `,` options).
fn escape_layer(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, ':' | ',' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The binary, opened through a private read-only overlay of its directory. Overlayfs
/// without an upper layer needs two lower layers: the second is an empty, detached tmpfs.
fn overlay_view() -> std::io::Result<OwnedFd> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    };
    if exe.to_string_lossy().ends_with(" (deleted)") {
        return Err(std::io::Error::from_raw_os_error(libc::ENOENT));
    }
    let empty = FsContext::open("tmpfs")?;
    empty.set_string("size", "4k")?;
    empty.create()?;
    let empty = empty.mount(mount_api::MOUNT_ATTR_RDONLY)?;
    let overlay = FsContext::open("overlay")?;
    let empty_path = format!("/proc/self/fd/{}", empty.as_raw_fd());
    let layers = format!(
        "{}:{}",
        escape_layer(&dir.to_string_lossy()),
        escape_layer(&empty_path)
    );
    overlay.set_string("lowerdir", &layers)?;
    overlay.create()?;
    let mnt = overlay.mount(
        mount_api::MOUNT_ATTR_RDONLY | mount_api::MOUNT_ATTR_NODEV | mount_api::MOUNT_ATTR_NOSUID,
    )?;
    let file =
        crate::rootfs::resolve::open_beneath_strict(mnt.as_fd(), Path::new(name), libc::O_RDONLY)?;
    let st = nix::sys::statfs::fstatfs(file.as_fd()).map_err(std::io::Error::from)?;
    if st.filesystem_type() != nix::sys::statfs::OVERLAYFS_SUPER_MAGIC {
        return Err(std::io::Error::other("sealed binary is not on overlayfs"));
    }
    Ok(file)
}

fn cstring(mut bytes: Vec<u8>) -> CString {
    bytes.retain(|&b| b != 0);
    CString::new(bytes).unwrap_or_default()
}

fn sealed_copy() -> std::io::Result<OwnedFd> {
    let src = File::open("/proc/self/exe")?;
    let len = src.metadata()?.len();
    // SAFETY: memfd_create with a valid name; returns a new fd or -1.
    let fd = unsafe {
        libc::memfd_create(
            c"skiff".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: memfd_create returned a new fd nobody else owns.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut copied: u64 = 0;
    while copied < len {
        // SAFETY: sendfile between two fds we own, NULL offset = use the file positions.
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                src.as_raw_fd(),
                std::ptr::null_mut(),
                (len - copied) as usize,
            )
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if n == 0 {
            break;
        }
        copied += n as u64;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our memfd. F_SEAL_EXEC (Linux 6.3) also stops chmod of the copy;
    // older kernels reject it, so fall back to the basic seals.
    unsafe {
        if libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals | F_SEAL_EXEC) != 0
            && libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(memfd)
}
