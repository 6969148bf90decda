//! Devices: the default set, the standard links, `linux.devices` with every attribute,
//! and devices in a user namespace (bind-mounted from the host, checked to match).

#[path = "common/mod.rs"]
mod common;
#[path = "rootfs_util.rs"]
mod rootfs_util;

use common::*;
use rootfs_util::*;
use serde_json::json;

const STAT: &str = "stat -c '%n|%F|%t:%T|%a|%u|%g'";

#[test]
fn default_devices_links_pts_and_shm() {
    let skiff = Skiff::new();
    let script = format!(
        "{STAT} /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/pts/ptmx; \
         for l in fd stdin stdout stderr ptmx; do echo /dev/$l '->' $(readlink /dev/$l); done; \
         echo hi > /dev/null && echo null-writable; head -c 4 /dev/zero | od -An -tx1; \
         head -c 8 /dev/urandom | wc -c; echo x > /dev/full 2>/dev/null || echo full-is-full; \
         echo ==mountinfo==; cat /proc/self/mountinfo"
    );
    let out = run_ok(&skiff, &script, |_| {});
    let (before, info) = out.split_once("==mountinfo==\n").unwrap();
    let expected = "\
/dev/null|character special file|1:3|666|0|0
/dev/zero|character special file|1:5|666|0|0
/dev/full|character special file|1:7|666|0|0
/dev/random|character special file|1:8|666|0|0
/dev/urandom|character special file|1:9|666|0|0
/dev/tty|character special file|5:0|666|0|0
/dev/pts/ptmx|character special file|5:2|666|0|0
/dev/fd -> /proc/self/fd
/dev/stdin -> /proc/self/fd/0
/dev/stdout -> /proc/self/fd/1
/dev/stderr -> /proc/self/fd/2
/dev/ptmx -> pts/ptmx
null-writable
 00 00 00 00
8
full-is-full
";
    assert_eq!(before, expected);
    let info = parse_mountinfo(info);
    assert_eq!(mount_at(&info, "/dev").fstype, "tmpfs");
    assert_eq!(mount_at(&info, "/dev/pts").fstype, "devpts");
    assert_eq!(mount_at(&info, "/dev/shm").fstype, "tmpfs");
    assert_eq!(mount_at(&info, "/dev/mqueue").fstype, "mqueue");
}

#[test]
fn configured_devices_with_every_attribute() {
    let skiff = Skiff::new();
    let script = format!(
        "{STAT} /dev/test-c /dev/test-b /dev/test-p /dev/test-u /dev/sub/dir/test-nested /dev/test-defaults"
    );
    let out = run_ok(&skiff, &script, |c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/test-c", "type": "c", "major": 10, "minor": 666, "fileMode": 0o660, "uid": 1000, "gid": 1001},
            {"path": "/dev/test-b", "type": "b", "major": 8, "minor": 666, "fileMode": 0o600, "uid": 0, "gid": 6},
            {"path": "/dev/test-p", "type": "p", "fileMode": 0o640, "uid": 2, "gid": 3},
            {"path": "/dev/test-u", "type": "u", "major": 1, "minor": 7, "fileMode": 0o604},
            {"path": "/dev/sub/dir/test-nested", "type": "c", "major": 1, "minor": 3, "fileMode": 0o4666},
            {"path": "/dev/test-defaults", "type": "c", "major": 1, "minor": 5}
        ]);
    });
    assert_eq!(
        out,
        "\
/dev/test-c|character special file|a:29a|660|1000|1001
/dev/test-b|block special file|8:29a|600|0|6
/dev/test-p|fifo|0:0|640|2|3
/dev/test-u|character special file|1:7|604|0|0
/dev/sub/dir/test-nested|character special file|1:3|4666|0|0
/dev/test-defaults|character special file|1:5|666|0|0
"
    );
}

#[test]
fn configured_device_replaces_a_default_one() {
    let skiff = Skiff::new();
    let out = run_ok(&skiff, &format!("{STAT} /dev/null"), |c| {
        c["linux"]["devices"] = json!([
            {"path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o600, "uid": 7, "gid": 8}
        ]);
    });
    assert_eq!(out, "/dev/null|character special file|1:3|600|7|8\n");
}

#[test]
fn devices_without_a_dev_mount_go_into_the_images_dev() {
    // No /dev tmpfs in the config: the image's own /dev gets the nodes, and whatever the
    // image had at those names (here a regular file as /dev/null) is replaced.
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        &format!("{STAT} /dev/null /dev/zero; readlink /dev/ptmx"),
    ]);
    std::fs::write(b.rootfs().join("dev/null"), "not a device").unwrap();
    b.edit(|c| {
        remove_mount(c, "/dev");
    });
    let out = run_bundle_ok(&skiff, &b);
    assert_eq!(
        out,
        "/dev/null|character special file|1:3|666|0|0\n/dev/zero|character special file|1:5|666|0|0\npts/ptmx\n"
    );
}

#[test]
fn devices_in_a_user_namespace_are_the_hosts_nodes_bound() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", ""]);
    chown_rootfs(&b);
    let script = format!(
        "{STAT} /dev/null /dev/kmsg /dev/test-p; echo hi > /dev/null && echo null-writable; \
         echo ==mountinfo==; cat /proc/self/mountinfo"
    );
    b.edit(|c| {
        user_ns(c);
        c["process"]["args"] = json!(["sh", "-c", script]);
        c["linux"]["devices"] = json!([
            {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o600},
            {"path": "/dev/test-p", "type": "p", "fileMode": 0o640, "uid": 2, "gid": 3}
        ]);
    });
    let out = run_bundle_ok(&skiff, &b);
    let (before, info) = out.split_once("==mountinfo==\n").unwrap();
    let lines: Vec<&str> = before.lines().collect();
    assert!(
        lines[0].starts_with("/dev/null|character special file|1:3|"),
        "{before}"
    );
    assert!(
        lines[1].starts_with("/dev/kmsg|character special file|1:b|"),
        "{before}"
    );
    // mknod of a FIFO is allowed in a user namespace: made, not bound.
    assert_eq!(lines[2], "/dev/test-p|fifo|0:0|640|2|3");
    assert_eq!(lines[3], "null-writable");
    let info = parse_mountinfo(info);
    for (point, root) in [
        ("/dev/null", "/null"),
        ("/dev/kmsg", "/kmsg"),
        ("/dev/urandom", "/urandom"),
    ] {
        let m = mount_at(&info, point);
        assert_eq!(
            (m.root.as_str(), m.fstype.as_str()),
            (root, "devtmpfs"),
            "{m:?}"
        );
    }
    assert!(!has_mount_at(&info, "/dev/test-p"));
}

#[test]
fn a_host_node_that_is_not_the_configured_device_is_not_bound() {
    // In a user namespace skiff cannot mknod: it binds the host's node of that path, but
    // only if it is the device the config names.
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    chown_rootfs(&b);
    b.edit(|c| {
        user_ns(c);
        c["linux"]["devices"] = json!([
            {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 3}
        ]);
    });
    let err = run_bundle_fails(&skiff, &b);
    assert!(
        err.contains("linux.devices[0]") && err.contains("not the same device"),
        "{err}"
    );
}

#[test]
fn device_path_outside_dev_is_refused() {
    let skiff = Skiff::new();
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        c["linux"]["devices"] = json!([
            {"path": "/etc/evil", "type": "c", "major": 1, "minor": 3}
        ]);
    });
    assert_ne!(code, 0);
    assert!(err.contains("linux.devices[0]"), "{err}");
}
