//! Unit tests of `container/unix.rs`.

use super::*;

#[test]
fn long_paths_go_through_the_directory_fd() {
    let base = std::env::temp_dir().join(format!("skiff-unix-{}", std::process::id()));
    let deep = base.join("d".repeat(60)).join("e".repeat(60));
    std::fs::create_dir_all(&deep).unwrap();
    let path = deep.join("s.sock");
    assert!(path.as_os_str().len() > 107);
    let listener = listen(&path).unwrap();
    let client = connect(&path).unwrap();
    // SAFETY: accept on our listening socket.
    let accepted = unsafe {
        libc::accept(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    };
    assert!(accepted >= 0);
    // SAFETY: closing the fd we just accepted.
    unsafe { libc::close(accepted) };
    drop(client);
    std::fs::remove_dir_all(&base).unwrap();
}
