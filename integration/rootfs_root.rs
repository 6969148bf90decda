//! `root` and `linux.rootfsPropagation`: the rootfs path, read-only root, the propagation
//! of `/`, pivot_root and --no-pivot.

#[path = "common/mod.rs"]
mod common;
#[path = "rootfs_util.rs"]
mod rootfs_util;

use common::*;
use rootfs_util::*;
use serde_json::json;

/// `skiff run [flags] --bundle B id`; asserts success and nothing left; returns stdout.
fn run_with_flags(skiff: &Skiff, b: &Bundle, flags: &[&str]) -> String {
    let id = unique_id("root");
    let out = skiff
        .cmd()
        .arg("run")
        .args(flags)
        .arg("--bundle")
        .arg(b.path())
        .arg(&id)
        .output()
        .unwrap();
    assert_nothing_left(skiff, &id, b);
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "run {flags:?} failed: {e}\nstdout: {o}"
    );
    o
}

#[test]
fn root_path_relative_or_absolute() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["cat", "/etc/hostname-marker"]);
    std::fs::write(b.rootfs().join("etc/hostname-marker"), "mine\n").unwrap();
    assert_eq!(run_bundle_ok(&skiff, &b), "mine\n");
    let abs = b.rootfs();
    b.edit(|c| c["root"]["path"] = json!(abs));
    assert_eq!(run_bundle_ok(&skiff, &b), "mine\n");
    // A relative path is taken relative to the bundle, not the caller's cwd.
    std::fs::rename(b.rootfs(), b.path().join("other")).unwrap();
    b.edit(|c| c["root"]["path"] = json!("other"));
    assert_eq!(run_bundle_ok(&skiff, &b), "mine\n");
}

#[test]
fn root_readonly() {
    let skiff = Skiff::new();
    let script = "touch /x 2>/dev/null && echo writable || echo read-only; awk '$5 == \"/\" { split($6, o, \",\"); print o[1] }' /proc/self/mountinfo";
    let out = run_ok(&skiff, script, |_| {});
    assert_eq!(out, "read-only\nro\n");
    let out = run_ok(&skiff, script, writable_root);
    assert_eq!(out, "writable\nrw\n");
}

#[test]
fn rootfs_propagation_of_slash() {
    let skiff = Skiff::new();
    for (mode, want) in [
        ("shared", "shared"),
        ("rshared", "shared"),
        ("slave", "private"),
        ("rslave", "private"),
        ("private", "private"),
        ("rprivate", "private"),
        ("unbindable", "unbindable"),
        ("runbindable", "unbindable"),
    ] {
        let (_, info) = run_mountinfo(&skiff, "", |c| {
            c["linux"]["rootfsPropagation"] = json!(mode);
        });
        // The host's / is private here, so a slave of it has no master.
        assert_eq!(mount_at(&info, "/").propagation(), want, "{mode}");
        let proc_prop = mount_at(&info, "/proc").propagation();
        let recursive = mode.starts_with('r');
        if recursive {
            assert_eq!(proc_prop, want, "{mode}: /proc follows");
        } else {
            assert_eq!(proc_prop, "private", "{mode}: only / changes");
        }
    }
}

#[test]
fn rootfs_propagation_behaves_like_runtime_tools_checks() {
    // What runtimetest does: bind / elsewhere, mount something, see whether it shows
    // through the bind.
    let skiff = Skiff::new();
    let script = "mount --rbind / /tmp 2>/dev/null || { echo bind-refused; exit 0; }; \
                  mount -t tmpfs tmpfs /home/user; \
                  grep -q ' /tmp/home/user ' /proc/self/mountinfo && echo exposed || echo hidden";
    for (mode, want) in [
        ("shared", "exposed"),
        ("slave", "hidden"),
        ("private", "hidden"),
        ("unbindable", "bind-refused"),
    ] {
        let out = run_ok(&skiff, script, |c| {
            c["linux"]["rootfsPropagation"] = json!(mode);
            add_caps(c, &["CAP_SYS_ADMIN"]);
        });
        assert_eq!(out, format!("{want}\n"), "{mode}");
    }
}

#[test]
fn rootfs_propagation_never_reaches_the_host() {
    let skiff = Skiff::new();
    for mode in ["shared", "rshared"] {
        let b = Bundle::new(&[
            "sh",
            "-c",
            "mount -t tmpfs tmpfs /home/user && echo mounted",
        ]);
        let mut b = b;
        b.edit(|c| {
            c["linux"]["rootfsPropagation"] = json!(mode);
            add_caps(c, &["CAP_SYS_ADMIN"]);
            add_mount(c, tmpfs("/mnt", &["shared"]));
        });
        let before = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(run_bundle_ok(&skiff, &b), "mounted\n");
        assert!(host_mounts_under(b.path()).is_empty());
        let after = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(
            !after.contains(&b.path().display().to_string()),
            "{mode}: container mounts showed up on the host:\n{after}\nbefore:\n{before}"
        );
    }
}

#[test]
fn no_pivot_moves_the_rootfs_onto_slash() {
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", ""]);
    let rootfs = b.rootfs().display().to_string();
    b.edit(|c| {
        c["process"]["args"] = json!([
            "sh",
            "-c",
            "ls /; echo ==mountinfo==; cat /proc/self/mountinfo"
        ]);
    });
    let out = run_with_flags(&skiff, &b, &["--no-pivot"]);
    let (ls, info) = out.split_once("==mountinfo==\n").unwrap();
    assert!(ls.contains("bin\n") && ls.contains("etc\n"), "{ls}");
    let info = parse_mountinfo(info);
    let root = mount_at(&info, "/");
    assert_eq!(root.root, rootfs, "/ is the rootfs: {root:?}");
    assert!(root.has("ro"));
    for p in ["/proc", "/dev", "/sys", "/sys/fs/cgroup"] {
        assert!(has_mount_at(&info, p), "{p}");
    }
    // Masks and read-only paths still apply.
    assert!(mount_at(&info, "/proc/sys").has("ro"));
}

/// (fstype, root) of every mount of the mount namespace of `pid`, including those below
/// the process's root, which mountinfo cannot show: listmount/statmount (Linux 6.8+,
/// namespace ids 6.11+).
fn mounts_of_namespace(pid: i64) -> Vec<(String, String)> {
    use std::os::fd::AsRawFd;
    #[repr(C)]
    struct Req {
        size: u32,
        spare: u32,
        mnt_id: u64,
        param: u64,
        ns_id: u64,
    }
    const NS_GET_MNTNS_ID: libc::c_ulong = 0x8008_b705; // _IOR(0xb7, 5, u64)
    const STATMOUNT_MNT_ROOT: u64 = 0x8;
    const STATMOUNT_FS_TYPE: u64 = 0x20;
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt")).unwrap();
    let mut ns_id = 0u64;
    // SAFETY: ioctl writing one u64 into a variable we own.
    assert_eq!(
        unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_MNTNS_ID, &mut ns_id) },
        0
    );
    let req = Req {
        size: 32,
        spare: 0,
        mnt_id: u64::MAX,
        param: 0,
        ns_id,
    };
    let mut ids = vec![0u64; 1024];
    // SAFETY: listmount with a request and an id buffer of the length passed.
    let n = unsafe { libc::syscall(458, &req, ids.as_mut_ptr(), ids.len(), 0) };
    assert!(n >= 0, "listmount: {}", std::io::Error::last_os_error());
    let mut out = Vec::new();
    for &id in &ids[..n as usize] {
        let q = Req {
            size: 32,
            spare: 0,
            mnt_id: id,
            param: STATMOUNT_MNT_ROOT | STATMOUNT_FS_TYPE,
            ns_id,
        };
        let mut buf = vec![0u8; 8192];
        // SAFETY: statmount into a buffer of the length passed.
        if unsafe { libc::syscall(457, &q, buf.as_mut_ptr(), buf.len(), 0) } < 0 {
            continue;
        }
        let at = |off: usize| u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap()) as usize;
        let s = |off: usize| {
            let start = 512 + at(off);
            let end = start + buf[start..].iter().position(|&c| c == 0).unwrap();
            String::from_utf8_lossy(&buf[start..end]).into_owned()
        };
        out.push((s(36), s(104)));
    }
    out
}

#[test]
fn no_pivot_detaches_the_hosts_procfs_and_sysfs() {
    // After MS_MOVE + chroot the host's mounts stay in the container's mount namespace,
    // below its root; the full procfs and sysfs among them are detached.
    let skiff = Skiff::new();
    let b = Bundle::new(&["true"]);
    for (flags, want) in [(vec!["--no-pivot"], 2), (vec![], 2)] {
        let id = unique_id("nopivot");
        let status = skiff
            .cmd()
            .arg("create")
            .args(&flags)
            .arg("--bundle")
            .arg(b.path())
            .arg(&id)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let pid = skiff.state(&id)["pid"].as_i64().unwrap();
        let mounts = mounts_of_namespace(pid);
        skiff.ok(&["delete", "--force", &id]);
        assert_nothing_left(&skiff, &id, &b);
        let full = mounts
            .iter()
            .filter(|(t, root)| root == "/" && (t == "proc" || t == "sysfs"))
            .count();
        assert_eq!(
            full, want,
            "{flags:?}: the container's /proc and /sys only: {mounts:?}"
        );
    }
}

#[test]
fn no_pivot_in_a_user_namespace() {
    // mount_too_revealing: a user namespace may mount procfs only while a fully visible
    // one exists; the host's are detached under --no-pivot, the container's is kept.
    let skiff = Skiff::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "id -u; ls /proc/self/ns >/dev/null && echo proc-ok",
    ]);
    chown_rootfs(&b);
    b.edit(user_ns);
    assert_eq!(run_with_flags(&skiff, &b, &["--no-pivot"]), "0\nproc-ok\n");
}

#[test]
fn rootfs_on_ramfs_with_and_without_pivot() {
    let skiff = Skiff::new();
    let dir = tempfile::Builder::new()
        .prefix("skiff-ramfs-")
        .tempdir()
        .unwrap();
    let point = dir.path().join("rootfs");
    let _ramfs = HostMount::new("ramfs", "mode=755", &point);
    let st = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", rootfs_template().display()))
        .arg(&point)
        .status()
        .unwrap();
    assert!(st.success());
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "awk '$5 == \"/\" { print $9 }' /proc/self/mountinfo",
    ]);
    b.edit(|c| c["root"]["path"] = json!(point));
    assert_eq!(run_with_flags(&skiff, &b, &["--no-pivot"]), "ramfs\n");
    assert_eq!(run_with_flags(&skiff, &b, &[]), "ramfs\n");
    assert!(
        host_mounts_under(&point).len() == 1,
        "only the ramfs itself is left"
    );
}

#[test]
fn without_a_mount_namespace_the_rootfs_is_chrooted() {
    let skiff = Skiff::new();
    let out = run_ok(
        &skiff,
        "ls /etc/passwd; cat /proc/self/status | grep -c ^Pid",
        |c| {
            remove_namespace(c, "mount");
            // Without a mount namespace only mounts can be made: no masks, no ro root.
            c["root"]["readonly"] = json!(false);
            c["linux"]["maskedPaths"] = json!([]);
            c["linux"]["readonlyPaths"] = json!([]);
        },
    );
    assert_eq!(out, "/etc/passwd\n1\n");
}
