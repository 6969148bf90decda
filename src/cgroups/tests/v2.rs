//! Unit tests of `cgroups/v2.rs`.

use super::*;

#[test]
fn controllers_are_enabled_down_to_the_container() {
    // A fake hierarchy of plain files: the root offers cpu and memory, `a` offers
    // only memory (its parent's subtree_control decides, here faked).
    let root = tempfile::tempdir().unwrap();
    let a = root.path().join("a");
    let ctr = a.join("ctr");
    std::fs::create_dir_all(&ctr).unwrap();
    std::fs::write(root.path().join("cgroup.controllers"), "cpu memory\n").unwrap();
    std::fs::write(a.join("cgroup.controllers"), "memory\n").unwrap();
    for d in [root.path(), &a] {
        std::fs::write(d.join("cgroup.subtree_control"), "").unwrap();
    }
    enable_controllers(root.path(), &ctr);
    let read = |p: &Path| std::fs::read_to_string(p.join("cgroup.subtree_control")).unwrap();
    assert_eq!(read(root.path()), "+cpu +memory");
    assert_eq!(read(&a), "+memory");
    assert!(
        !ctr.join("cgroup.subtree_control").exists(),
        "leaf untouched"
    );
    std::fs::write(ctr.join("cgroup.controllers"), "memory").unwrap();
    assert_eq!(controllers(&ctr).unwrap(), vec!["memory".to_string()]);
}
