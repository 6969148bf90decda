//! Unit tests of `rootfs/procfs.rs`.

use super::*;

#[test]
fn rejects_a_decoy() {
    let tmp = plain("/tmp").unwrap();
    assert!(verify(tmp.as_fd(), nix::sys::statfs::PROC_SUPER_MAGIC, "/tmp").is_err());
}
