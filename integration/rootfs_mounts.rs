//! `mounts`: every option runc accepts, every propagation mode, bind and rbind, the
//! filesystem types, data options, remount and tmpcopyup, checked in the container's
//! /proc/self/mountinfo.

#[path = "common/mod.rs"]
mod common;
#[path = "rootfs_util.rs"]
mod rootfs_util;

use common::*;
use rootfs_util::*;
use serde_json::json;

/// (name, options, flags mountinfo must show, flags it must not show).
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);

const PER_MOUNT: &[Case] = &[
    ("defaults", &["defaults"], &["rw", "relatime"], &["ro"]),
    ("ro", &["ro"], &["ro"], &["rw"]),
    ("rw", &["ro", "rw"], &["rw"], &["ro"]),
    ("nosuid", &["nosuid"], &["nosuid"], &[]),
    ("suid", &["nosuid", "suid"], &[], &["nosuid"]),
    ("nodev", &["nodev"], &["nodev"], &[]),
    ("dev", &["nodev", "dev"], &[], &["nodev"]),
    ("noexec", &["noexec"], &["noexec"], &[]),
    ("exec", &["noexec", "exec"], &[], &["noexec"]),
    ("noatime", &["noatime"], &["noatime"], &["relatime"]),
    (
        "strictatime",
        &["strictatime"],
        &[],
        &["relatime", "noatime"],
    ),
    (
        "relatime",
        &["noatime", "relatime"],
        &["relatime"],
        &["noatime"],
    ),
    ("atime", &["noatime", "atime"], &["relatime"], &["noatime"]),
    ("norelatime", &["norelatime"], &["relatime"], &["noatime"]),
    (
        "nostrictatime",
        &["strictatime", "nostrictatime"],
        &["relatime"],
        &[],
    ),
    ("nodiratime", &["nodiratime"], &["nodiratime"], &[]),
    (
        "diratime",
        &["nodiratime", "diratime"],
        &[],
        &["nodiratime"],
    ),
    ("nosymfollow", &["nosymfollow"], &["nosymfollow"], &[]),
    (
        "symfollow",
        &["nosymfollow", "symfollow"],
        &[],
        &["nosymfollow"],
    ),
];

fn check_case(info: &[MountLine], point: &str, case: &Case) {
    let (name, _, present, absent) = case;
    let line = mount_at(info, point);
    for f in *present {
        assert!(line.has(f), "{name}: {point} lacks {f}: {line:?}");
    }
    for f in *absent {
        assert!(!line.has(f), "{name}: {point} has {f}: {line:?}");
    }
}

#[test]
fn per_mount_options_on_new_filesystems_and_binds() {
    let skiff = Skiff::new();
    let (_, info) = run_mountinfo(&skiff, "", |c| {
        for (name, opts, _, _) in PER_MOUNT {
            add_mount(c, tmpfs(&format!("/m/t-{name}"), opts));
            let mut b = vec!["bind"];
            b.extend_from_slice(opts);
            add_mount(c, bind(&format!("/m/b-{name}"), "rootfs/etc", &b));
        }
    });
    for case in PER_MOUNT {
        check_case(&info, &format!("/m/t-{}", case.0), case);
        check_case(&info, &format!("/m/b-{}", case.0), case);
    }
}

#[test]
fn per_mount_options_take_effect() {
    let skiff = Skiff::new();
    let script = r#"
        touch /m/ro/x 2>/dev/null && echo ro:writable || echo ro:refused
        cp /bin/busybox /m/noexec/true && { /m/noexec/true 2>/dev/null && echo noexec:ran || echo noexec:refused; }
        cp /bin/busybox /m/exec/true && { /m/exec/true && echo exec:ran; }
        ln -s /etc/passwd /m/nosymfollow/l && { cat /m/nosymfollow/l >/dev/null 2>&1 && echo nosymfollow:followed || echo nosymfollow:refused; }
        mknod /m/nodev/null c 1 3 && { echo x > /m/nodev/null 2>/dev/null && echo nodev:opened || echo nodev:refused; }
    "#;
    let out = run_ok(&skiff, script, |c| {
        add_caps(c, &["CAP_MKNOD"]);
        add_mount(c, tmpfs("/m/ro", &["ro"]));
        add_mount(c, tmpfs("/m/noexec", &["noexec"]));
        add_mount(c, tmpfs("/m/exec", &["exec"]));
        add_mount(c, tmpfs("/m/nosymfollow", &["nosymfollow"]));
        add_mount(c, tmpfs("/m/nodev", &["nodev"]));
    });
    for want in [
        "ro:refused",
        "noexec:refused",
        "exec:ran",
        "nosymfollow:refused",
        "nodev:refused",
    ] {
        assert!(out.contains(want), "{want} missing in:\n{out}");
    }
}

#[test]
fn superblock_flags() {
    let skiff = Skiff::new();
    let cases: &[Case] = &[
        ("sync", &["sync"], &["sync"], &[]),
        ("async", &["sync", "async"], &[], &["sync"]),
        ("dirsync", &["dirsync"], &["dirsync"], &[]),
        ("mand", &["mand"], &["mand"], &[]),
        ("nomand", &["mand", "nomand"], &[], &["mand"]),
        ("lazytime", &["lazytime"], &["lazytime"], &[]),
        (
            "nolazytime",
            &["lazytime", "nolazytime"],
            &[],
            &["lazytime"],
        ),
        ("silent", &["silent", "loud"], &[], &[]),
    ];
    let (_, info) = run_mountinfo(&skiff, "", |c| {
        for (name, opts, _, _) in cases {
            add_mount(c, tmpfs(&format!("/m/{name}"), opts));
        }
    });
    for (name, _, present, absent) in cases {
        let line = mount_at(&info, &format!("/m/{name}"));
        for f in *present {
            assert!(line.has_super(f), "{name}: lacks {f}: {line:?}");
        }
        for f in *absent {
            assert!(!line.has_super(f), "{name}: has {f}: {line:?}");
        }
    }
}

#[test]
fn filesystem_data_options() {
    let skiff = Skiff::new();
    let (out, info) = run_mountinfo(&skiff, "stat -c '%a %u %g' /m/data /m/joined", |c| {
        add_mount(
            c,
            tmpfs("/m/data", &["size=1m", "mode=700", "uid=1000", "gid=1001"]),
        );
        // runc joins data into one string: one entry may carry several options.
        add_mount(
            c,
            tmpfs("/m/joined", &["size=2m,mode=711", "nr_inodes=100"]),
        );
    });
    assert_eq!(out, "700 1000 1001\n711 0 0\n");
    let data = mount_at(&info, "/m/data");
    for o in ["size=1024k", "mode=700", "uid=1000", "gid=1001"] {
        assert!(data.has_super(o), "{o}: {data:?}");
    }
    let joined = mount_at(&info, "/m/joined");
    for o in ["size=2048k", "mode=711", "nr_inodes=100"] {
        assert!(joined.has_super(o), "{o}: {joined:?}");
    }
}

#[test]
fn every_filesystem_type() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", ""]);
    let ovl = b.path().join("ovl");
    for d in ["lower", "upper", "work"] {
        std::fs::create_dir_all(ovl.join(d)).unwrap();
    }
    std::fs::write(ovl.join("lower/from-lower"), "lower\n").unwrap();
    let lowerdir = format!(
        "lowerdir={},upperdir={},workdir={}",
        ovl.join("lower").display(),
        ovl.join("upper").display(),
        ovl.join("work").display()
    );
    let script = "cat /m/ovl/from-lower; echo up > /m/ovl/from-container; ls /m/proc/self/ >/dev/null && echo proc-ok; \
                  ls /m/sys/kernel >/dev/null && echo sys-ok; ls /m/pts/ptmx && echo pts-ok; \
                  echo ==mountinfo==; cat /proc/self/mountinfo";
    b.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        add_mount(c, json!({"destination": "/m/proc", "type": "proc", "source": "proc"}));
        add_mount(c, json!({"destination": "/m/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]}));
        add_mount(c, json!({"destination": "/m/pts", "type": "devpts", "source": "devpts", "options": ["newinstance", "ptmxmode=0666"]}));
        add_mount(c, json!({"destination": "/m/mq", "type": "mqueue", "source": "mqueue"}));
        add_mount(c, json!({"destination": "/m/ramfs", "type": "ramfs", "source": "ramfs", "options": ["mode=700"]}));
        add_mount(c, json!({"destination": "/m/ovl", "type": "overlay", "source": "overlay", "options": [lowerdir]}));
    });
    let out = run_bundle_ok(&skiff, &b);
    let (before, info) = out.split_once("==mountinfo==\n").unwrap();
    assert!(before.starts_with("lower\n"), "{before}");
    for w in ["proc-ok", "sys-ok", "pts-ok"] {
        assert!(before.contains(w), "{w}: {before}");
    }
    let info = parse_mountinfo(info);
    for (point, fstype) in [
        ("/m/proc", "proc"),
        ("/m/sys", "sysfs"),
        ("/m/pts", "devpts"),
        ("/m/mq", "mqueue"),
        ("/m/ramfs", "ramfs"),
        ("/m/ovl", "overlay"),
    ] {
        assert_eq!(mount_at(&info, point).fstype, fstype, "{point}");
    }
    assert!(mount_at(&info, "/m/sys").has("ro"));
    assert!(mount_at(&info, "/m/ramfs").has_super("mode=700"));
    assert_eq!(
        std::fs::read_to_string(ovl.join("upper/from-container")).unwrap(),
        "up\n",
        "the overlay's upper dir got the container's write"
    );
}

#[test]
fn bind_rbind_relative_sources_and_created_destinations() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", ""]);
    std::fs::create_dir(b.path().join("data")).unwrap();
    std::fs::write(b.path().join("data/hello"), "hello\n").unwrap();
    let script = "cat /data/hello; cat /new/deeper/passwd-copy | head -1; [ -f /new/deeper/passwd-copy ] && echo file-target; \
                  [ -d /new/dir ] && echo dir-target; echo x > /mnt/null && echo null-ok; \
                  echo ==mountinfo==; cat /proc/self/mountinfo";
    b.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        // Sources inside the rootfs see the earlier mounts of this config (pre-pivot).
        add_mount(c, tmpfs("/a", &[]));
        add_mount(c, tmpfs("/a/sub", &[]));
        add_mount(c, bind("/b", "rootfs/a", &["bind"]));
        add_mount(c, bind("/c", "rootfs/a", &["rbind"]));
        // Relative to the bundle.
        add_mount(c, bind("/data", "data", &["bind", "ro"]));
        add_mount(c, bind("/new/deeper/passwd-copy", "rootfs/etc/passwd", &["bind"]));
        add_mount(c, bind("/new/dir", "rootfs/etc", &["rbind"]));
        add_mount(c, bind("/mnt/null", "/dev/null", &["bind"]));
        // type "none" + the option: a bind mount too.
        add_mount(c, json!({"destination": "/d", "type": "none", "source": "rootfs/a", "options": ["rbind", "ro"]}));
    });
    let out = run_bundle_ok(&skiff, &b);
    let (before, info) = out.split_once("==mountinfo==\n").unwrap();
    assert_eq!(
        before,
        "hello\nroot:x:0:0:root:/root:/bin/sh\nfile-target\ndir-target\nnull-ok\n"
    );
    let info = parse_mountinfo(info);
    assert!(!has_mount_at(&info, "/b/sub"), "bind is not recursive");
    assert!(has_mount_at(&info, "/c/sub"), "rbind is recursive");
    assert!(has_mount_at(&info, "/d/sub"), "type none with rbind");
    assert!(mount_at(&info, "/data").has("ro"));
    assert_eq!(
        mount_at(&info, "/data").root,
        b.path().join("data").display().to_string()
    );
}

/// Sources for the recursive cases: `/a` with a submount, re-bound with each option.
const RECURSIVE: &[Case] = &[
    ("rro", &["rro"], &["ro"], &[]),
    ("rnosuid", &["rnosuid"], &["nosuid"], &[]),
    ("rnodev", &["rnodev"], &["nodev"], &[]),
    ("rnoexec", &["rnoexec"], &["noexec"], &[]),
    ("rnoatime", &["rnoatime"], &["noatime"], &["relatime"]),
    (
        "rstrictatime",
        &["rstrictatime"],
        &[],
        &["relatime", "noatime"],
    ),
    ("rnodiratime", &["rnodiratime"], &["nodiratime"], &[]),
    ("rnosymfollow", &["rnosymfollow"], &["nosymfollow"], &[]),
];

/// The clearing forms, applied to a tree that has every flag set.
const RECURSIVE_CLEAR: &[Case] = &[
    ("rrw", &["rrw"], &["rw"], &["ro"]),
    ("rsuid", &["rsuid"], &[], &["nosuid"]),
    ("rdev", &["rdev"], &[], &["nodev"]),
    ("rexec", &["rexec"], &[], &["noexec"]),
    ("rrelatime", &["rrelatime"], &["relatime"], &["noatime"]),
    ("ratime", &["ratime"], &["relatime"], &["noatime"]),
    ("rdiratime", &["rdiratime"], &[], &["nodiratime"]),
    ("rsymfollow", &["rsymfollow"], &[], &["nosymfollow"]),
];

#[test]
fn recursive_attributes_apply_to_the_whole_tree() {
    let skiff = Skiff::new();
    let (_, info) = run_mountinfo(&skiff, "", |c| {
        add_mount(c, tmpfs("/a", &[]));
        add_mount(c, tmpfs("/a/sub", &[]));
        for (name, opts, _, _) in RECURSIVE {
            let mut o = vec!["rbind"];
            o.extend_from_slice(opts);
            add_mount(c, bind(&format!("/r/{name}"), "rootfs/a", &o));
        }
        // A tree with everything set, then each clearing form on a copy of it.
        add_mount(
            c,
            bind(
                "/all",
                "rootfs/a",
                &[
                    "rbind",
                    "rro",
                    "rnosuid",
                    "rnodev",
                    "rnoexec",
                    "rnoatime",
                    "rnodiratime",
                    "rnosymfollow",
                ],
            ),
        );
        for (name, opts, _, _) in RECURSIVE_CLEAR {
            let mut o = vec!["rbind"];
            o.extend_from_slice(opts);
            add_mount(c, bind(&format!("/r/{name}"), "rootfs/all", &o));
        }
    });
    for case in RECURSIVE.iter().chain(RECURSIVE_CLEAR) {
        check_case(&info, &format!("/r/{}", case.0), case);
        check_case(&info, &format!("/r/{}/sub", case.0), case);
    }
    // Non-recursive attributes stay on the top mount.
    let (_, info) = run_mountinfo(&skiff, "", |c| {
        add_mount(c, tmpfs("/a", &[]));
        add_mount(c, tmpfs("/a/sub", &[]));
        add_mount(c, bind("/top-only", "rootfs/a", &["rbind", "ro", "nosuid"]));
    });
    assert!(mount_at(&info, "/top-only").has("ro"));
    assert!(!mount_at(&info, "/top-only/sub").has("ro"));
    assert!(!mount_at(&info, "/top-only/sub").has("nosuid"));
}

#[test]
fn propagation_modes() {
    let skiff = Skiff::new();
    let (_, info) = run_mountinfo(&skiff, "", |c| {
        for mode in ["private", "shared", "slave", "unbindable"] {
            add_mount(c, tmpfs(&format!("/p/{mode}"), &[mode]));
        }
        // A shared tree to bind from: binds of it join its peer group unless told.
        add_mount(c, tmpfs("/s", &["shared"]));
        add_mount(c, tmpfs("/s/sub", &["shared"]));
        for mode in ["private", "shared", "slave", "unbindable"] {
            add_mount(c, bind(&format!("/b/{mode}"), "rootfs/s", &["rbind", mode]));
            let r = format!("r{mode}");
            add_mount(c, bind(&format!("/b/{r}"), "rootfs/s", &["rbind", &r]));
        }
    });
    let want = |p: &str, prop: &str| {
        let line = mount_at(&info, p);
        assert_eq!(line.propagation(), prop, "{p}: {line:?}");
    };
    want("/p/private", "private");
    want("/p/shared", "shared");
    // A slave of nothing is private.
    want("/p/slave", "private");
    want("/p/unbindable", "unbindable");
    want("/b/private", "private");
    want("/b/private/sub", "shared");
    want("/b/shared", "shared");
    want("/b/slave", "slave");
    want("/b/slave/sub", "shared");
    want("/b/unbindable", "unbindable");
    want("/b/rprivate", "private");
    want("/b/rprivate/sub", "private");
    want("/b/rshared", "shared");
    want("/b/rshared/sub", "shared");
    want("/b/rslave", "slave");
    want("/b/rslave/sub", "slave");
    want("/b/runbindable", "unbindable");
    want("/b/runbindable/sub", "unbindable");
}

#[test]
fn remount_changes_an_earlier_mount() {
    let skiff = Skiff::new();
    let (_, info) = run_mountinfo(&skiff, "", |c| {
        add_mount(c, tmpfs("/r", &["size=1m"]));
        add_mount(
            c,
            json!({"destination": "/r", "type": "tmpfs", "source": "tmpfs", "options": ["remount", "ro", "nosuid", "size=2m"]}),
        );
    });
    let r = mount_at(&info, "/r");
    assert!(r.has("ro") && r.has("nosuid"), "{r:?}");
    assert!(r.has_super("size=2048k"), "{r:?}");

    // Filesystem options on a filesystem the config did not mount (the rootfs, shared
    // with the host): refused.
    let (code, _, err) = skiff.exec_in(&["true"], |c| {
        add_mount(
            c,
            json!({"destination": "/bin", "type": "ext4", "source": "x", "options": ["remount", "ro", "commit=5"]}),
        );
    });
    assert_ne!(code, 0);
    assert!(
        err.contains("mounts[7] (/bin)") && err.contains("remount"),
        "{err}"
    );
}

#[test]
fn tmpcopyup_copies_the_directory_with_modes_owners_and_links() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", ""]);
    let etc = b.rootfs().join("etc");
    std::fs::create_dir(etc.join("sub")).unwrap();
    std::fs::write(etc.join("sub/file"), "in sub\n").unwrap();
    std::fs::write(etc.join("suid"), "s").unwrap();
    std::os::unix::fs::symlink("passwd", etc.join("link")).unwrap();
    std::os::unix::fs::symlink("/../../../etc/shadow", etc.join("escape")).unwrap();
    let run = |cmd: &[&str]| {
        assert!(std::process::Command::new(cmd[0])
            .args(&cmd[1..])
            .status()
            .unwrap()
            .success())
    };
    run(&["chown", "1000:1001", etc.join("suid").to_str().unwrap()]);
    run(&["chmod", "4755", etc.join("suid").to_str().unwrap()]);
    run(&["chmod", "0750", etc.join("sub").to_str().unwrap()]);
    run(&["chmod", "0751", etc.to_str().unwrap()]);
    let script = "stat -c '%n %a %u %g' /etc /etc/sub /etc/suid; cat /etc/sub/file; readlink /etc/link; readlink /etc/escape; \
                  echo new > /etc/new && echo writable; grep ' /etc ' /proc/self/mountinfo | cut -d' ' -f9";
    b.edit(|c| {
        c["process"]["args"] = json!(["sh", "-c", script]);
        add_mount(c, tmpfs("/etc", &["tmpcopyup", "nosuid"]));
    });
    let out = run_bundle_ok(&skiff, &b);
    assert_eq!(
        out,
        "/etc 751 0 0\n/etc/sub 750 0 0\n/etc/suid 4755 1000 1001\nin sub\npasswd\n/../../../etc/shadow\nwritable\ntmpfs\n"
    );
    assert!(!etc.join("new").exists(), "the write went to the tmpfs");

    // An explicit mode wins over the directory's.
    let out = run_ok(&skiff, "stat -c %a /etc", |c| {
        add_mount(c, tmpfs("/etc", &["tmpcopyup", "mode=1777"]));
    });
    assert_eq!(out, "1777\n");
}

#[test]
fn unknown_and_misplaced_options_are_errors_naming_mount_and_option() {
    let skiff = Skiff::new();
    let cases: &[(serde_json::Value, &[&str])] = &[
        (tmpfs("/m", &["bogus"]), &["mounts[7]", "/m", "bogus"]),
        (
            bind("/m", "rootfs/etc", &["bind", "bogus"]),
            &["mounts[7]", "/m", "\"bogus\""],
        ),
        (
            bind("/m", "rootfs/etc", &["bind", "sync"]),
            &["mounts[7]", "\"sync\"", "bind mount"],
        ),
        (
            bind("/m", "rootfs/etc", &["bind", "tmpcopyup"]),
            &["mounts[7]", "tmpcopyup"],
        ),
        (tmpfs("/m", &["idmap"]), &["mounts[7]", "idmap"]),
        (
            tmpfs("/m", &["nosuid", ""]),
            &["mounts[7]", "empty mount option"],
        ),
        (tmpfs("/m", &["iversion"]), &["mounts[7]", "\"iversion\""]),
        (
            json!({"destination": "/m", "type": "nosuchfs", "source": "x"}),
            &["mounts[7]", "nosuchfs"],
        ),
        (
            json!({"destination": "/m", "source": "x", "options": ["nosuid"]}),
            &["mounts[7]", "type"],
        ),
        (
            json!({"destination": "m", "type": "tmpfs", "source": "x"}),
            &["mounts[7]", "absolute"],
        ),
        (
            bind("/m", "does-not-exist", &["bind"]),
            &["mounts[7]", "does-not-exist"],
        ),
        (
            json!({"destination": "/sys/fs/cgroup", "type": "cgroup2", "source": "cgroup2"}),
            &["mounts[7]", "cgroup2"],
        ),
    ];
    for (m, needles) in cases {
        let m = m.clone();
        let (code, out, err) = skiff.exec_in(&["true"], move |c| add_mount(c, m));
        assert_ne!(code, 0, "ran with {needles:?}: {out}");
        for n in *needles {
            assert!(err.contains(n), "{n:?} missing in: {err}");
        }
    }
}

#[test]
fn filesystem_data_on_a_bind_mount_is_ignored_not_applied() {
    // The runtime-tools `mounts` test sends mode=/size= on bind mounts; the kernel
    // ignores data for MS_BIND and runc passes it along. skiff accepts it with a warning.
    let skiff = Skiff::new();
    let (_, info) = run_mountinfo(&skiff, "", |c| {
        add_mount(
            c,
            bind(
                "/m",
                "rootfs/etc",
                &["nosuid", "mode=755", "size=1k", "bind"],
            ),
        );
    });
    let m = mount_at(&info, "/m");
    assert!(m.has("nosuid"), "{m:?}");
    assert!(
        m.root.ends_with("/etc") && m.fstype != "tmpfs",
        "still the bind: {m:?}"
    );
    assert!(!m.has_super("size=1k") && !m.has_super("mode=755"), "{m:?}");
}

#[test]
fn cgroup_mount_is_a_read_only_view_of_the_containers_own_cgroups() {
    let skiff = Skiff::new();
    let script = "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes >/dev/null && echo readable; \
                  echo $$ > /sys/fs/cgroup/pids/cgroup.procs 2>/dev/null && echo writable || echo refused";
    for cgroupns in [false, true] {
        let (out, info) = run_mountinfo(&skiff, script, |c| {
            if cgroupns {
                add_namespace(c, "cgroup");
            }
        });
        for sub in ["memory", "pids", "cpu", "devices", "freezer"] {
            assert!(out.lines().any(|l| l == sub), "{sub} missing: {out}");
        }
        assert!(out.contains("readable\nrefused\n"), "{out}");
        let top = mount_at(&info, "/sys/fs/cgroup");
        assert!(top.has("ro") && top.has("nosuid"), "{top:?}");
        let mem = mount_at(&info, "/sys/fs/cgroup/memory");
        assert_eq!(mem.fstype, "cgroup");
        assert!(mem.has("ro"), "{mem:?}");
        if cgroupns {
            assert_eq!(mem.root, "/", "rooted at the namespace: {mem:?}");
        } else {
            assert!(
                mem.root.len() > 1,
                "the container's own cgroup, not the root: {mem:?}"
            );
        }
    }
}
