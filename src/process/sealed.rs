//! Running from a sealed copy of the skiff binary (CVE-2019-5736).
//!
//! The container process replaces skiff's init by execve. If the image's program is
//! `#!/proc/self/exe` (or the args name /proc/self/exe), the kernel resolves that in the
//! init, i.e. to the executable skiff runs from. When that is the host's skiff file, a
//! process in the container can open it through /proc/<pid>/exe and overwrite the host
//! binary. So the commands that start container processes first re-execute skiff from a
//! memfd copy sealed against writes, shrinking and growing: whatever the container gets
//! hold of is an unwritable anonymous file.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const F_SEAL_EXEC: libc::c_int = 0x0020;

/// Whether skiff already runs from a sealed memfd.
pub fn is_sealed() -> bool {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: fcntl on an fd we own; F_GET_SEALS fails with EINVAL on non-memfd files.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & libc::F_SEAL_WRITE != 0 && seals & libc::F_SEAL_SEAL != 0
}

/// Re-executes the current command from a sealed memfd copy unless already running from
/// one. Returns only on failure (or when already sealed).
pub fn ensure_sealed() -> std::io::Result<()> {
    if is_sealed() {
        return Ok(());
    }
    let memfd = sealed_copy()?;
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
            memfd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr() as *const *mut libc::c_char,
            envp.as_ptr() as *const *mut libc::c_char,
            libc::AT_EMPTY_PATH,
        );
    }
    Err(std::io::Error::last_os_error())
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
