//! `linux.maskedPaths`, `linux.readonlyPaths` and `linux.sysctl`.

#[path = "common/mod.rs"]
mod common;
#[path = "rootfs_util.rs"]
mod rootfs_util;

use common::*;
use rootfs_util::*;
use serde_json::json;

/// A bundle whose rootfs has a secret file, a secret directory and links to them.
fn bundle_with_secrets(script: &str) -> Bundle {
    let b = Bundle::new(&["sh", "-c", script]);
    let r = b.rootfs();
    std::fs::write(r.join("secret"), "secret\n").unwrap();
    std::fs::create_dir(r.join("secretdir")).unwrap();
    std::fs::write(r.join("secretdir/inside"), "inside\n").unwrap();
    std::fs::create_dir(r.join("linked")).unwrap();
    std::fs::write(r.join("linked/file"), "linked\n").unwrap();
    std::os::unix::fs::symlink("/linked", r.join("via-link")).unwrap();
    b
}

#[test]
fn masked_paths_hide_files_and_directories() {
    let skiff = Skiff::new();
    let script = "cat /secret; echo overwrite > /secret && echo write-discarded; \
                  ls -A /secretdir; touch /secretdir/new 2>/dev/null || echo dir-read-only; \
                  ls -A /linked; cat /proc/timer_list | wc -c; ls -A /sys/firmware | wc -l; \
                  echo ==mountinfo==; cat /proc/self/mountinfo";
    let mut b = bundle_with_secrets(script);
    b.edit(|c| {
        let masked = c["linux"]["maskedPaths"].as_array_mut().unwrap();
        for p in ["/secret", "/secretdir", "/via-link", "/does-not-exist"] {
            masked.push(json!(p));
        }
    });
    let out = run_bundle_ok(&skiff, &b);
    let (before, info) = out.split_once("==mountinfo==\n").unwrap();
    assert_eq!(before, "write-discarded\ndir-read-only\n0\n0\n");
    assert_eq!(
        std::fs::read_to_string(b.rootfs().join("secret")).unwrap(),
        "secret\n",
        "the masked file was not written"
    );
    let info = parse_mountinfo(info);
    let dir = mount_at(&info, "/secretdir");
    assert_eq!(dir.fstype, "tmpfs");
    assert!(
        dir.has("ro") && dir.has("nosuid") && dir.has("nodev") && dir.has("noexec"),
        "{dir:?}"
    );
    assert_eq!(mount_at(&info, "/secret").root, "/null");
    // The link was followed inside the rootfs: the mask is on /linked.
    assert_eq!(mount_at(&info, "/linked").fstype, "tmpfs");
    assert_eq!(mount_at(&info, "/proc/timer_list").root, "/null");
}

#[test]
fn readonly_paths_refuse_writes_and_keep_flags() {
    let skiff = Skiff::new();
    let script = "cat /secret; echo x > /secret 2>/dev/null || echo file-read-only; \
                  cat /secretdir/inside; touch /secretdir/new 2>/dev/null || echo dir-read-only; \
                  echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null || echo proc-sys-read-only; \
                  touch /dev/shm/x 2>/dev/null || echo shm-read-only; touch /tmp/sub/x 2>/dev/null || echo sub-read-only; \
                  echo ==mountinfo==; cat /proc/self/mountinfo";
    let mut b = bundle_with_secrets(script);
    b.edit(|c| {
        writable_root(c);
        add_mount(c, tmpfs("/tmp", &[]));
        add_mount(c, tmpfs("/tmp/sub", &[]));
        let ro = c["linux"]["readonlyPaths"].as_array_mut().unwrap();
        for p in [
            "/secret",
            "/secretdir",
            "/dev/shm",
            "/tmp",
            "/does-not-exist",
        ] {
            ro.push(json!(p));
        }
    });
    let out = run_bundle_ok(&skiff, &b);
    let (before, info) = out.split_once("==mountinfo==\n").unwrap();
    assert_eq!(
        before,
        "secret\nfile-read-only\ninside\ndir-read-only\nproc-sys-read-only\nshm-read-only\nsub-read-only\n"
    );
    let info = parse_mountinfo(info);
    // Only the read-only bit is added: the mount's own flags stay.
    let shm = mount_at(&info, "/dev/shm");
    for f in ["ro", "nosuid", "nodev", "noexec"] {
        assert!(shm.has(f), "{f}: {shm:?}");
    }
    // Recursively: mounts below a read-only path are read-only too.
    assert!(mount_at(&info, "/tmp/sub").has("ro"));
    assert!(mount_at(&info, "/proc/sys").has("ro"));
}

#[test]
fn sysctls_are_set_in_the_containers_namespaces() {
    let skiff = Skiff::new();
    let out = run_ok(
        &skiff,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname",
        |c| {
            c["linux"]["sysctl"] = json!({
                "net.ipv4.ip_forward": "1",
                "kernel.shmmni": "1234",
                "fs.mqueue.msg_max": "42",
                "kernel.domainname": "skiff.test",
            });
        },
    );
    assert_eq!(out, "1\n1234\n42\nskiff.test\n");
    // The host's values are untouched.
    assert_ne!(
        std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap(),
        "skiff.test\n"
    );
}

/// (key, config edit, text the error must contain).
type Refusal = (
    &'static str,
    Box<dyn Fn(&mut serde_json::Value)>,
    &'static str,
);

#[test]
fn sysctls_that_would_change_the_host_are_refused() {
    let skiff = Skiff::new();
    let cases: Vec<Refusal> = vec![
        ("vm.swappiness", Box::new(|_| {}), "not namespaced"),
        (
            "net.ipv4.ip_forward",
            Box::new(|c| remove_namespace(c, "network")),
            "net namespace",
        ),
        (
            "net.ipv4.ip_forward",
            Box::new(|c| {
                remove_namespace(c, "network");
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "network", "path": format!("/proc/{}/ns/net", std::process::id())}));
            }),
            "host",
        ),
        (
            "kernel.shmmax",
            Box::new(|c| remove_namespace(c, "ipc")),
            "ipc",
        ),
        (
            "fs.mqueue.msg_max",
            Box::new(|c| remove_namespace(c, "ipc")),
            "ipc",
        ),
        ("net.ipv4/../../vm/swappiness", Box::new(|_| {}), "invalid"),
    ];
    for (key, edit, needle) in cases {
        let (code, _, err) = skiff.exec_in(&["true"], |c| {
            c["linux"]["sysctl"] = json!({ key: "1" });
            edit(c);
        });
        assert_ne!(code, 0, "{key} was accepted");
        assert!(
            err.contains(&format!("linux.sysctl.{key}")) && err.contains(needle),
            "{key}: {err}"
        );
    }
}

#[test]
fn sysctls_go_to_the_real_procfs_not_a_decoy() {
    // CVE-2019-16884 / CVE-2025-52881: a config mount over /proc/sys must not catch the
    // writes. A second procfs shows what the kernel really has.
    let skiff = Skiff::new();
    let out = run_ok(
        &skiff,
        "ls -A /proc/sys | wc -l; cat /tmp/realproc/sys/net/ipv4/ip_forward",
        |c| {
            add_mount(c, tmpfs("/proc/sys", &[]));
            add_mount(
                c,
                json!({"destination": "/tmp/realproc", "type": "proc", "source": "proc"}),
            );
            c["linux"]["readonlyPaths"] = json!([]);
            c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        },
    );
    assert_eq!(out, "0\n1\n");
}
