//! Unit tests of `cgroups/v1.rs`.

use super::*;

#[test]
fn parses_cgroup_mounts() {
    let mi = "36 25 0:31 / /sys/fs/cgroup/cpu rw,relatime shared:14 - cgroup cgroup rw,cpu\n\
              40 25 0:35 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n\
              41 25 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
    let m = cgroup_mounts(mi);
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].0, PathBuf::from("/sys/fs/cgroup/systemd"));
    assert!(m[1].2.contains(&"name=systemd".to_string()));
}

#[test]
fn resolves_relative_and_absolute() {
    let h = vec![Hierarchy {
        name: "memory".into(),
        mountpoint: "/sys/fs/cgroup/memory".into(),
        mount_root: "/".into(),
        own: "/sess/1".into(),
    }];
    let CgroupPaths::V1 { dirs } = resolve(&h, Path::new("abc")).unwrap() else {
        panic!()
    };
    assert_eq!(
        dirs["memory"].path,
        PathBuf::from("/sys/fs/cgroup/memory/sess/1/abc")
    );
    let CgroupPaths::V1 { dirs } = resolve(&h, Path::new("/x/y")).unwrap() else {
        panic!()
    };
    assert_eq!(
        dirs["memory"].path,
        PathBuf::from("/sys/fs/cgroup/memory/x/y")
    );
}
