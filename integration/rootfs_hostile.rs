//! Hostile images: symlinks and `..` in mount destinations, a swapped /dev/null, /proc,
//! /sys or /dev replaced by links, a symlink flipped while the container is set up. Each
//! must fail cleanly or stay inside the rootfs, with the host untouched (security.md).

#[path = "common/mod.rs"]
mod common;
#[path = "rootfs_util.rs"]
mod rootfs_util;

use common::*;
use rootfs_util::*;
use serde_json::json;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

/// A directory on the host that hostile links point at; it must never change.
struct Sentinel {
    dir: tempfile::TempDir,
}

impl Sentinel {
    fn new() -> Sentinel {
        let dir = tempfile::Builder::new()
            .prefix("skiff-host-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join("keep"), "host\n").unwrap();
        Sentinel { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self) -> PathBuf {
        self.path().join("keep")
    }

    /// Nothing created, removed, changed or mounted.
    fn assert_untouched(&self, case: &str) {
        assert_eq!(
            tree_of(self.path()),
            vec!["keep".to_string()],
            "{case}: host dir changed"
        );
        assert_eq!(
            std::fs::read_to_string(self.file()).unwrap(),
            "host\n",
            "{case}: host file changed"
        );
        assert!(
            host_mounts_under(self.path()).is_empty(),
            "{case}: mounts on the host"
        );
    }
}

#[test]
fn destination_that_is_a_symlink_to_an_absolute_host_path_stays_inside() {
    let host = Sentinel::new();
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "echo ==mountinfo==; cat /proc/self/mountinfo"]);
    symlink(host.path(), b.rootfs().join("escape")).unwrap();
    std::fs::create_dir(b.rootfs().join("mnt")).unwrap();
    symlink(host.path(), b.rootfs().join("mnt/parent")).unwrap();
    b.edit(|c| {
        add_mount(c, tmpfs("/escape", &[]));
        add_mount(c, tmpfs("/mnt/parent/t", &[]));
        add_mount(c, bind("/mnt/parent/f", "rootfs/etc/passwd", &["bind"]));
    });
    let out = run_bundle_ok(&skiff, &b);
    let info = parse_mountinfo(out.split_once("==mountinfo==\n").unwrap().1);
    let inside = host.path().display().to_string();
    // The links resolved with the rootfs as /: the mounts are on <rootfs><host path>.
    assert!(has_mount_at(&info, &inside), "{info:#?}");
    assert!(has_mount_at(&info, &format!("{inside}/t")));
    assert!(has_mount_at(&info, &format!("{inside}/f")));
    // (t and f were created on the tmpfs mounted at /escape, itself inside the rootfs.)
    assert!(b
        .rootfs()
        .join(host.path().strip_prefix("/").unwrap())
        .is_dir());
    host.assert_untouched("absolute symlink");
}

#[test]
fn dotdot_in_destinations_and_links_stays_inside() {
    let host = Sentinel::new();
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "echo ==mountinfo==; cat /proc/self/mountinfo"]);
    let up = format!("../../../../../../../..{}", host.path().display());
    std::fs::create_dir_all(b.rootfs().join("mnt/deep")).unwrap();
    symlink(&up, b.rootfs().join("mnt/deep/up")).unwrap();
    let dotdot = format!("/../../../../..{}/dd", host.path().display());
    b.edit(|c| {
        add_mount(c, tmpfs(&dotdot, &[]));
        add_mount(c, tmpfs("/mnt/deep/up/x", &[]));
    });
    let out = run_bundle_ok(&skiff, &b);
    let info = parse_mountinfo(out.split_once("==mountinfo==\n").unwrap().1);
    let inside = host.path().display().to_string();
    assert!(has_mount_at(&info, &format!("{inside}/dd")), "{info:#?}");
    assert!(has_mount_at(&info, &format!("{inside}/x")), "{info:#?}");
    host.assert_untouched("..");
}

#[test]
fn mountpoint_parents_through_a_symlink_create_nothing_on_the_host() {
    // CVE-2024-45310: creating /a/b/c where /a -> /../../<host dir>.
    let host = Sentinel::new();
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    symlink(
        format!("/../..{}", host.path().display()),
        b.rootfs().join("a"),
    )
    .unwrap();
    b.edit(|c| {
        add_mount(c, tmpfs("/a/b/c", &[]));
        add_mount(c, bind("/a/d/e/file", "rootfs/etc/group", &["bind"]));
    });
    run_bundle_ok(&skiff, &b);
    let in_rootfs = b.rootfs().join(host.path().strip_prefix("/").unwrap());
    assert!(in_rootfs.join("b/c").is_dir() && in_rootfs.join("d/e/file").is_file());
    host.assert_untouched("mkdir through a symlink");
}

#[test]
fn dev_null_swapped_in_the_image_is_replaced_before_it_masks_anything() {
    // CVE-2025-31133, image variant: no /dev mount in the config, the image's /dev/null
    // is a link to a host file (or a regular file). skiff makes a real null device.
    let host = Sentinel::new();
    let skiff = Skiff::new();
    for variant in ["symlink", "file"] {
        let mut b = Bundle::new(&[
            "sh",
            "-c",
            "stat -c '%F %t:%T' /dev/null; cat /proc/timer_list | wc -c",
        ]);
        let null = b.rootfs().join("dev/null");
        match variant {
            "symlink" => symlink(host.file(), &null).unwrap(),
            _ => std::fs::write(&null, "not null").unwrap(),
        }
        b.edit(|c| {
            remove_mount(c, "/dev");
        });
        assert_eq!(
            run_bundle_ok(&skiff, &b),
            "character special file 1:3\n0\n",
            "{variant}"
        );
        host.assert_untouched(variant);
    }
}

#[test]
fn a_dev_null_that_is_not_the_null_device_is_never_used_as_a_mask() {
    // CVE-2025-31133, bound-/dev variant: /dev comes from a directory whose `null` is a
    // link to a host file, or a regular file. Masking must refuse, not mount it.
    let host = Sentinel::new();
    let skiff = Skiff::new();
    for variant in ["symlink", "file"] {
        let mut b = Bundle::new(&["true"]);
        let fake = b.path().join("fakedev");
        std::fs::create_dir(&fake).unwrap();
        match variant {
            "symlink" => symlink(host.file(), fake.join("null")).unwrap(),
            _ => std::fs::write(fake.join("null"), "not null").unwrap(),
        }
        b.edit(|c| {
            c["mounts"][1] = bind("/dev", "fakedev", &["rbind"]);
            c["linux"]["maskedPaths"] = json!(["/proc/timer_list"]);
        });
        let err = run_bundle_fails(&skiff, &b);
        assert!(
            err.contains("linux.maskedPaths[0]") && err.contains("/dev/null"),
            "{variant}: {err}"
        );
        host.assert_untouched(variant);
    }
}

#[test]
fn proc_sys_or_dev_replaced_by_a_symlink_is_refused() {
    // CVE-2019-19921 (/proc), and CVE-2026-41579 (/dev, with and without a /dev mount).
    let host = Sentinel::new();
    let skiff = Skiff::new();
    for (dir, drop_dev_mount, needle) in [
        ("proc", false, "mounts[0] (/proc)"),
        ("sys", false, "mounts[5] (/sys)"),
        ("dev", false, "mounts[1] (/dev)"),
        ("dev", true, "/dev"),
    ] {
        let mut b = Bundle::new(&["true"]);
        let p = b.rootfs().join(dir);
        std::fs::remove_dir(&p).unwrap();
        symlink(host.path(), &p).unwrap();
        if drop_dev_mount {
            b.edit(|c| {
                let m: Vec<_> = c["mounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| !m["destination"].as_str().unwrap().starts_with("/dev"))
                    .cloned()
                    .collect();
                c["mounts"] = json!(m);
            });
        }
        let err = run_bundle_fails(&skiff, &b);
        assert!(err.contains(needle), "{dir}: {err}");
        host.assert_untouched(dir);
    }
}

#[test]
fn masked_and_readonly_paths_through_host_links_stay_inside() {
    let host = Sentinel::new();
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["sh", "-c", "echo ok"]);
    symlink(host.file(), b.rootfs().join("mask-me")).unwrap();
    symlink(host.path(), b.rootfs().join("ro-me")).unwrap();
    b.edit(|c| {
        c["linux"]["maskedPaths"] = json!(["/mask-me", "/ro-me/keep"]);
        c["linux"]["readonlyPaths"] = json!(["/ro-me"]);
    });
    // The links resolve inside the rootfs, where nothing exists: skipped, as runc does.
    assert_eq!(run_bundle_ok(&skiff, &b), "ok\n");
    host.assert_untouched("masked/readonly links");
}

#[test]
fn a_symlink_flipped_during_setup_never_redirects_a_mount() {
    // CVE-2021-30465 style race: while containers are created, the image's /mnt/race is
    // swapped (atomically, RENAME_EXCHANGE) between a directory and a link to the host.
    let host = Sentinel::new();
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["true"]);
    let mnt = b.rootfs().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    std::fs::create_dir(mnt.join("race")).unwrap();
    symlink(host.path(), mnt.join("race.alt")).unwrap();
    b.edit(|c| {
        add_mount(c, tmpfs("/mnt/race/t", &[]));
        add_mount(c, bind("/mnt/race/f", "rootfs/etc/group", &["bind"]));
        add_mount(c, tmpfs("/mnt/race", &["ro"]));
    });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flipper = {
        let stop = stop.clone();
        let (a, b2) = (
            std::ffi::CString::new(mnt.join("race").into_os_string().into_encoded_bytes()).unwrap(),
            std::ffi::CString::new(mnt.join("race.alt").into_os_string().into_encoded_bytes())
                .unwrap(),
        );
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // SAFETY: renameat2 with two valid C strings.
                unsafe {
                    libc::renameat2(
                        libc::AT_FDCWD,
                        a.as_ptr(),
                        libc::AT_FDCWD,
                        b2.as_ptr(),
                        libc::RENAME_EXCHANGE,
                    )
                };
                flips += 1;
            }
            flips
        })
    };
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..40 {
        let id = unique_id("race");
        let (code, _, _) = skiff.run_container(&b, &id);
        assert_nothing_left(&skiff, &id, &b);
        if code == 0 {
            ok += 1;
        } else {
            failed += 1;
        }
        host.assert_untouched("race");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    assert!(flips > 100, "the flipper ran ({flips} flips)");
    assert_eq!(ok + failed, 40);
    eprintln!("race: {ok} created, {failed} failed cleanly, {flips} flips");
    host.assert_untouched("race");
}

/// Runs `skiff run` under a seccomp filter that answers openat2 with ENOSYS, as an outer
/// runtime's profile may: every resolution then goes through skiff's userspace walkers.
fn run_without_openat2(skiff: &Skiff, b: &Bundle) -> (i32, String, String) {
    use std::os::unix::process::CommandExt;
    let id = unique_id("noopenat2");
    let mut cmd = skiff.cmd();
    cmd.args(["run", "--bundle"]).arg(b.path()).arg(&id);
    // SAFETY: only async-signal-safe calls (prctl) between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            const SYS_OPENAT2: u32 = 437;
            let filter = [
                // A = seccomp_data.nr
                libc::sock_filter {
                    code: 0x20,
                    jt: 0,
                    jf: 0,
                    k: 0,
                },
                libc::sock_filter {
                    code: 0x15,
                    jt: 0,
                    jf: 1,
                    k: SYS_OPENAT2,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x0005_0000 | libc::ENOSYS as u32,
                },
                libc::sock_filter {
                    code: 0x06,
                    jt: 0,
                    jf: 0,
                    k: 0x7fff_0000,
                },
            ];
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut _,
            };
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const _,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert_nothing_left(skiff, &id, b);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn without_openat2_the_userspace_walkers_give_the_same_guarantees() {
    let host = Sentinel::new();
    let skiff = Skiff::new();

    // An ordinary container: mounts, devices, masks, read-only paths, sysctl.
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "cat /proc/sys/net/ipv4/ip_forward; cat /proc/timer_list | wc -c; stat -c %t:%T /dev/null",
    ]);
    b.edit(|c| c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"}));
    let (code, out, err) = run_without_openat2(&skiff, &b);
    assert_eq!((code, out.as_str()), (0, "1\n0\n1:3\n"), "{err}");

    // Links to the host in destinations and their parents stay inside.
    let mut b = Bundle::new(&["true"]);
    symlink(host.path(), b.rootfs().join("escape")).unwrap();
    symlink(
        format!("/../..{}", host.path().display()),
        b.rootfs().join("a"),
    )
    .unwrap();
    let dotdot = format!("/../../..{}/dd", host.path().display());
    b.edit(|c| {
        add_mount(c, tmpfs("/escape/t", &[]));
        add_mount(c, tmpfs("/a/b/c", &[]));
        add_mount(c, tmpfs(&dotdot, &[]));
    });
    let (code, _, err) = run_without_openat2(&skiff, &b);
    assert_eq!(code, 0, "{err}");
    assert!(b
        .rootfs()
        .join(host.path().strip_prefix("/").unwrap())
        .join("b/c")
        .is_dir());
    host.assert_untouched("walker: links");

    // /proc as a link is refused; a fake /dev/null never masks.
    let mut b = Bundle::new(&["true"]);
    std::fs::remove_dir(b.rootfs().join("proc")).unwrap();
    symlink(host.path(), b.rootfs().join("proc")).unwrap();
    let (code, _, err) = run_without_openat2(&skiff, &b);
    assert!(code != 0 && err.contains("mounts[0] (/proc)"), "{err}");
    let fake = b.path().join("fakedev");
    std::fs::create_dir(&fake).unwrap();
    symlink(host.file(), fake.join("null")).unwrap();
    std::fs::remove_file(b.rootfs().join("proc")).unwrap();
    std::fs::create_dir(b.rootfs().join("proc")).unwrap();
    b.edit(|c| {
        c["mounts"][1] = bind("/dev", "fakedev", &["rbind"]);
        c["linux"]["maskedPaths"] = json!(["/proc/timer_list"]);
    });
    let (code, _, err) = run_without_openat2(&skiff, &b);
    assert!(code != 0 && err.contains("linux.maskedPaths[0]"), "{err}");
    host.assert_untouched("walker: proc and dev/null");
}
