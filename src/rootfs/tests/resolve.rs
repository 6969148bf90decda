//! Unit tests of `rootfs/resolve.rs`.

use super::*;

#[test]
fn cleans_paths() {
    assert_eq!(clean(Path::new("/a/./b/../c")), PathBuf::from("a/c"));
    assert_eq!(clean(Path::new("/../../etc")), PathBuf::from("etc"));
    assert_eq!(clean(Path::new("/")), PathBuf::from(""));
}

/// A scratch root with an escaping absolute link, an escaping relative link and a
/// dangling link; removed on drop.
struct Scratch(PathBuf, std::fs::File);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("skiff-resolve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("inside")).unwrap();
        std::os::unix::fs::symlink("/../../../../", dir.join("escape")).unwrap();
        std::os::unix::fs::symlink("../../../../../tmp", dir.join("inside/up")).unwrap();
        std::os::unix::fs::symlink("/run/real/file", dir.join("dangling")).unwrap();
        std::os::unix::fs::symlink("loop", dir.join("loop")).unwrap();
        let root = std::fs::File::open(&dir).unwrap();
        Scratch(dir, root)
    }

    fn fd(&self) -> BorrowedFd<'_> {
        self.1.as_fd()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn symlinks_stay_inside_root() {
    let s = Scratch::new("openat2");
    drop(prepare_target(s.fd(), "/escape/newdir", NodeKind::Dir, 0).unwrap());
    assert!(s.0.join("newdir").is_dir(), "created inside the root");
    drop(prepare_target(s.fd(), "/inside/up/f", NodeKind::File, 0).unwrap());
    assert!(
        s.0.join("tmp/f").is_file(),
        "relative escape clamped at the root"
    );
    drop(prepare_target(s.fd(), "/dangling", NodeKind::File, 0).unwrap());
    assert!(
        s.0.join("run/real/file").is_file(),
        "dangling link's target created inside"
    );
    let err = open_in_root(s.fd(), "/escape", libc::O_PATH, NO_SYMLINKS).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
    let err = prepare_target(s.fd(), "/loop", NodeKind::Dir, 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
}

#[test]
fn walker_matches_openat2() {
    let s = Scratch::new("walk");
    let create = |p: &str, kind| {
        let rel = relative(Path::new(p));
        walk(s.fd(), &rel, Walk::create(libc::O_PATH, 0, kind, 0o755))
    };
    drop(create("/escape/a/b", NodeKind::Dir).unwrap());
    assert!(s.0.join("a/b").is_dir());
    drop(create("/inside/up/f", NodeKind::File).unwrap());
    assert!(s.0.join("tmp/f").is_file());
    drop(create("/dangling", NodeKind::File).unwrap());
    assert!(s.0.join("run/real/file").is_file());
    let open =
        |p: &str, flags, extra| walk(s.fd(), &relative(Path::new(p)), Walk::open(flags, extra));
    let fd = open("/escape/inside/..", libc::O_RDONLY | libc::O_DIRECTORY, 0).unwrap();
    let (a, b) = (
        nix::sys::stat::fstat(fd.as_fd()).unwrap(),
        nix::sys::stat::fstat(s.fd()).unwrap(),
    );
    assert_eq!(
        (a.st_dev, a.st_ino),
        (b.st_dev, b.st_ino),
        "`..` of a link stays at the root"
    );
    let err = open("/escape", libc::O_PATH, NO_SYMLINKS).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
    let err = open("/loop", libc::O_RDONLY, 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
    let err = open("/missing/x", libc::O_PATH, 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

#[test]
fn strict_walk_refuses_links_dotdot_and_other_mounts() {
    let s = Scratch::new("strict");
    std::fs::write(s.0.join("inside/f"), "x").unwrap();
    let walk = |p: &str| strict_walk(s.fd(), Path::new(p), libc::O_RDONLY, false);
    assert!(walk("inside/f").is_ok());
    assert_eq!(
        walk("escape").unwrap_err().raw_os_error(),
        Some(libc::ELOOP)
    );
    assert_eq!(
        walk("inside/up/x").unwrap_err().raw_os_error(),
        Some(libc::ELOOP)
    );
    assert_eq!(
        walk("inside/../inside/f").unwrap_err().raw_os_error(),
        Some(libc::EXDEV)
    );
    // /proc/self is followed only where asked, and a mount crossing is refused.
    let proc = std::fs::File::open("/proc").unwrap();
    let st = strict_walk(proc.as_fd(), Path::new("self/status"), libc::O_RDONLY, true);
    assert!(st.is_ok(), "{st:?}");
    let err = strict_walk(
        proc.as_fd(),
        Path::new("self/status"),
        libc::O_RDONLY,
        false,
    )
    .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ELOOP));
    let root = std::fs::File::open("/").unwrap();
    let err = strict_walk(
        root.as_fd(),
        Path::new("proc/version"),
        libc::O_RDONLY,
        false,
    )
    .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EXDEV));
}
