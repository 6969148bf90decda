//! `tmpcopyup`: a new tmpfs over a directory starts with that directory's content (podman
//! --read-only puts tmpfs on /tmp, /run, /var/tmp and expects the image's files there).

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

fn reopen_dir(fd: BorrowedFd, name: &CStr) -> std::io::Result<OwnedFd> {
    // SAFETY: openat relative to a valid fd with a valid C string.
    let r = unsafe {
        libc::openat(
            fd.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: new fd from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

fn stat_at(dir: BorrowedFd, name: &CStr) -> std::io::Result<libc::stat> {
    // SAFETY: stat buffer is plain data; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, C string and stat pointer.
    if unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH,
        )
    } != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st)
}

/// Copies the content of the directory `src` (an O_PATH fd) into the directory `dst` (a
/// fresh tmpfs), keeping modes, owners and symlinks. The tmpfs root itself gets the
/// directory's mode and owner from its mount options (see mounts.rs).
///
/// Everything is read relative to directory fds and opened O_NOFOLLOW: a symlink in the
/// image is copied as a symlink, never followed out of the rootfs.
pub fn copy_tree(src: BorrowedFd, dst: BorrowedFd) -> std::io::Result<()> {
    let src_dir = reopen_dir(src, c".")?;
    let dst_dir = reopen_dir(dst, c".")?;
    copy_dir(src_dir.as_fd(), dst_dir.as_fd(), 0)
}

fn copy_dir(src: BorrowedFd, dst: BorrowedFd, depth: usize) -> std::io::Result<()> {
    if depth > 64 {
        return Err(std::io::Error::from_raw_os_error(libc::ELOOP));
    }
    let dir = nix::dir::Dir::from_fd(src.try_clone_to_owned()?).map_err(std::io::Error::from)?;
    let mut names: Vec<CString> = Vec::new();
    for entry in dir {
        let entry = entry.map_err(std::io::Error::from)?;
        let name = entry.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        names.push(name.to_owned());
    }
    for name in names {
        let st = stat_at(src, &name)?;
        let mode = st.st_mode & 0o7777;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                // SAFETY: mkdirat relative to the destination dir.
                if unsafe { libc::mkdirat(dst.as_raw_fd(), name.as_ptr(), mode) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let sub_src = reopen_dir(src, &name)?;
                let sub_dst = reopen_dir(dst, &name)?;
                copy_dir(sub_src.as_fd(), sub_dst.as_fd(), depth + 1)?;
            }
            libc::S_IFREG => {
                // SAFETY: openat relative to valid fds; O_NOFOLLOW never follows a link.
                let from = unsafe {
                    libc::openat(
                        src.as_raw_fd(),
                        name.as_ptr(),
                        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
                    )
                };
                if from < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // SAFETY: new fd from the kernel.
                let from = unsafe { OwnedFd::from_raw_fd(from) };
                // SAFETY: as above.
                let to = unsafe {
                    libc::openat(
                        dst.as_raw_fd(),
                        name.as_ptr(),
                        libc::O_WRONLY
                            | libc::O_CREAT
                            | libc::O_EXCL
                            | libc::O_NOFOLLOW
                            | libc::O_CLOEXEC,
                        mode,
                    )
                };
                if to < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // SAFETY: new fd from the kernel.
                let to = unsafe { OwnedFd::from_raw_fd(to) };
                let mut left = st.st_size as usize;
                while left > 0 {
                    // SAFETY: copy between two fds we own.
                    let n = unsafe {
                        libc::sendfile(to.as_raw_fd(), from.as_raw_fd(), std::ptr::null_mut(), left)
                    };
                    if n < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    if n == 0 {
                        break;
                    }
                    left -= n as usize;
                }
            }
            libc::S_IFLNK => {
                let target =
                    nix::fcntl::readlinkat(src, name.as_c_str()).map_err(std::io::Error::from)?;
                let t = CString::new(target.into_encoded_bytes()).unwrap_or_default();
                // SAFETY: symlinkat with valid C strings relative to the destination.
                if unsafe { libc::symlinkat(t.as_ptr(), dst.as_raw_fd(), name.as_ptr()) } != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            // Sockets, fifos and device nodes are not copied.
            _ => continue,
        }
        // Owner first: chown clears the setuid/setgid bits that chmod then restores.
        // SAFETY: fchownat/fchmodat relative to the destination dir, not following links
        // (the entry was just created by us on the new tmpfs).
        unsafe {
            if libc::fchownat(
                dst.as_raw_fd(),
                name.as_ptr(),
                st.st_uid,
                st.st_gid,
                libc::AT_SYMLINK_NOFOLLOW,
            ) != 0
            {
                // EINVAL: the owner is not mapped in the container's user namespace (it
                // shows as the overflow id); the copy then stays owned by its creator.
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() != Some(libc::EINVAL) {
                    return Err(err);
                }
            }
            if st.st_mode & libc::S_IFMT != libc::S_IFLNK
                && libc::fchmodat(dst.as_raw_fd(), name.as_ptr(), mode, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}
