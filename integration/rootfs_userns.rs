//! Mounts that involve id mapping: idmapped bind mounts (`uidMappings`/`gidMappings` on
//! a mount, `idmap`/`ridmap`), and mounts inside a user namespace (sysfs, locked flags,
//! tmpcopyup ownership).

#[path = "common/mod.rs"]
mod common;
#[path = "rootfs_util.rs"]
mod rootfs_util;

use common::*;
use rootfs_util::*;
use serde_json::json;
use std::os::unix::fs::chown;

/// Container id 0 (on-disk 0) shows as 5000, 1000 as 6000, for 2000 ids.
fn maps() -> serde_json::Value {
    json!([{"containerID": 0, "hostID": 5000, "size": 2000}])
}

fn idmapped(dest: &str, source: &str, opts: &[&str]) -> serde_json::Value {
    let mut m = bind(dest, source, opts);
    m["uidMappings"] = maps();
    m["gidMappings"] = maps();
    m
}

#[test]
fn idmapped_bind_mount_maps_owners() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "stat -c '%n %u %g' /id/root-owned /id/user-owned /id/outside; grep ' /id ' /proc/self/mountinfo | cut -d' ' -f6"]);
    let src = b.path().join("idsrc");
    std::fs::create_dir(&src).unwrap();
    for (name, id) in [("root-owned", 0), ("user-owned", 1000), ("outside", 3000)] {
        std::fs::write(src.join(name), name).unwrap();
        chown(src.join(name), Some(id), Some(id)).unwrap();
    }
    b.edit(|c| add_mount(c, idmapped("/id", "idsrc", &["bind", "idmap"])));
    assert_eq!(
        run_bundle_ok(&skiff, &b),
        "/id/root-owned 5000 5000\n/id/user-owned 6000 6000\n/id/outside 65534 65534\nrw,relatime,idmapped\n"
    );
    // Mappings on the mount alone (no idmap option) make it idmapped too.
    b.edit(|c| {
        let last = c["mounts"].as_array().unwrap().len() - 1;
        c["mounts"][last]["options"] = json!(["bind"]);
    });
    assert!(run_bundle_ok(&skiff, &b).starts_with("/id/root-owned 5000 5000\n"));
}

#[test]
fn idmap_is_the_top_mount_ridmap_the_whole_tree() {
    let skiff = Skiff::new();
    let dir = tempfile::Builder::new()
        .prefix("skiff-idtree-")
        .tempdir()
        .unwrap();
    std::fs::write(dir.path().join("top"), "t").unwrap();
    let _sub = HostMount::new("tmpfs", "mode=755", &dir.path().join("sub"));
    std::fs::write(dir.path().join("sub/file"), "f").unwrap();
    let src = dir.path().display().to_string();
    let (out, info) = run_mountinfo(
        &skiff,
        "stat -c '%n %u' /i/top /i/sub/file /r/top /r/sub/file",
        |c| {
            add_mount(c, idmapped("/i", &src, &["rbind", "idmap"]));
            add_mount(c, idmapped("/r", &src, &["rbind", "ridmap"]));
        },
    );
    assert_eq!(
        out,
        "/i/top 5000\n/i/sub/file 0\n/r/top 5000\n/r/sub/file 5000\n"
    );
    assert!(mount_at(&info, "/i").has("idmapped"));
    assert!(!mount_at(&info, "/i/sub").has("idmapped"));
    assert!(mount_at(&info, "/r/sub").has("idmapped"));
}

#[test]
fn idmap_without_mappings_uses_the_containers_user_namespace() {
    // The point of idmapped mounts: host files owned by root are the container's root's
    // inside a user namespace, and what the container writes is owned by host root.
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "stat -c %u /shared/host-file; echo hi > /shared/from-container && echo wrote",
    ]);
    chown_rootfs(&b);
    let shared = b.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("host-file"), "x").unwrap();
    b.edit(|c| {
        user_ns(c);
        add_mount(c, bind("/shared", "shared", &["bind", "idmap"]));
    });
    assert_eq!(run_bundle_ok(&skiff, &b), "0\nwrote\n");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(shared.join("from-container"))
            .unwrap()
            .uid(),
        0
    );

    // Without a user namespace there is nothing to take mappings from.
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        add_mount(c, bind("/shared", "rootfs/etc", &["bind", "idmap"]));
    });
    assert_ne!(code, 0);
    assert!(
        err.contains("mounts[7]") && err.contains("uidMappings"),
        "{err}"
    );
}

#[test]
fn sysfs_in_a_user_namespace_without_its_own_network_is_the_hosts_bound_read_only() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "ls /sys/kernel >/dev/null && echo sys-ok; echo ==mountinfo==; cat /proc/self/mountinfo",
    ]);
    chown_rootfs(&b);
    b.edit(|c| {
        user_ns(c);
        remove_namespace(c, "network");
    });
    let out = run_bundle_ok(&skiff, &b);
    let (before, info) = out.split_once("==mountinfo==\n").unwrap();
    assert_eq!(before, "sys-ok\n");
    let info = parse_mountinfo(info);
    let sys = mount_at(&info, "/sys");
    assert_eq!(sys.fstype, "sysfs");
    for f in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(sys.has(f), "{f}: {sys:?}");
    }
    // Host submounts came along, read-only as well.
    for l in info
        .iter()
        .filter(|l| l.point.starts_with("/sys/") && l.fstype != "tmpfs")
    {
        assert!(l.has("ro"), "{l:?}");
    }
}

#[test]
fn locked_flags_are_kept_in_a_user_namespace() {
    // A host mount copied into the user namespace's mount namespace has its flags
    // locked; asking for rw/suid/dev/exec cannot clear them. As runc, skiff keeps them.
    let skiff = Skiff::new();
    let dir = tempfile::Builder::new()
        .prefix("skiff-locked-")
        .tempdir()
        .unwrap();
    let point = dir.path().join("m");
    let _m = HostMount::new("tmpfs", "ro,nosuid,nodev,noexec,noatime", &point);
    let src = point.display().to_string();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "grep ' /locked ' /proc/self/mountinfo | cut -d' ' -f6",
    ]);
    chown_rootfs(&b);
    b.edit(|c| {
        user_ns(c);
        add_mount(
            c,
            bind(
                "/locked",
                &src,
                &["bind", "rw", "suid", "dev", "exec", "relatime"],
            ),
        );
    });
    assert_eq!(
        run_bundle_ok(&skiff, &b),
        "ro,nosuid,nodev,noexec,noatime\n"
    );
    // Without a user namespace nothing is locked: the options apply.
    b.edit(|c| {
        remove_namespace(c, "user");
        c["linux"]["uidMappings"] = json!(null);
        c["linux"]["gidMappings"] = json!(null);
    });
    assert_eq!(run_bundle_ok(&skiff, &b), "rw,relatime\n");
}

#[test]
fn tmpcopyup_in_a_user_namespace_keeps_the_containers_owners() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "stat -c '%n %u %g' /etc /etc/passwd /etc/owned; echo x > /etc/new && echo writable",
    ]);
    std::fs::write(b.rootfs().join("etc/owned"), "o").unwrap();
    chown_rootfs(&b);
    chown(
        b.rootfs().join("etc/owned"),
        Some(USERNS_BASE + 1000),
        Some(USERNS_BASE + 1000),
    )
    .unwrap();
    b.edit(|c| {
        user_ns(c);
        add_mount(c, tmpfs("/etc", &["tmpcopyup"]));
    });
    assert_eq!(
        run_bundle_ok(&skiff, &b),
        "/etc 0 0\n/etc/passwd 0 0\n/etc/owned 1000 1000\nwritable\n"
    );
}

#[test]
fn devpts_gid_unmapped_in_the_user_namespace_is_dropped_not_fatal() {
    // The default config's devpts asks for gid=5; a user namespace mapping only root
    // cannot have it. The ptys then belong to the namespace's root group.
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "ls /dev/pts/ptmx && grep ' /dev/pts ' /proc/self/mountinfo | grep -c gid=5",
    ]);
    chown_rootfs(&b);
    b.edit(|c| {
        user_ns(c);
        let one = json!([{"containerID": 0, "hostID": USERNS_BASE, "size": 1}]);
        c["linux"]["uidMappings"] = one.clone();
        c["linux"]["gidMappings"] = one;
    });
    let id = unique_id("gid5");
    let (code, out, err) = skiff.run_container(&b, &id);
    assert_nothing_left(&skiff, &id, &b);
    // grep -c prints 0 and exits 1: no gid=5 on the mount.
    assert_eq!((code, out.as_str()), (1, "/dev/pts/ptmx\n0\n"), "{err}");
}
