//! Regression tests for the CVE classes of ../shared/docs/security.md that belong to the
//! process model: the host binary is never exposed to the container (CVE-2019-5736), the
//! init is not dumpable, no fd leaks (CVE-2024-21626).

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::json;
use std::os::unix::fs::MetadataExt;

fn sha(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn the_init_runs_from_an_unwritable_view_of_the_binary() {
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("sealed");
    skiff.create(&b, &id);
    let pid = skiff.state(&id)["pid"].as_i64().unwrap();
    let exe = format!("/proc/{pid}/exe");
    // Not the host file: another device (a private overlay) or a memfd.
    let host = std::fs::metadata(skiff_bin()).unwrap();
    let seen = std::fs::metadata(&exe).unwrap();
    assert_ne!(
        (host.dev(), host.ino()),
        (seen.dev(), seen.ino()),
        "init runs the host binary itself"
    );
    // And it cannot be opened for writing (EROFS for the overlay, EPERM for a sealed memfd).
    let err = std::fs::OpenOptions::new()
        .write(true)
        .open(&exe)
        .unwrap_err();
    assert!(
        matches!(
            err.raw_os_error(),
            Some(libc::EROFS) | Some(libc::EPERM) | Some(libc::ETXTBSY)
        ),
        "{err}"
    );
    skiff.ok(&["delete", "-f", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

/// Copies the shared libraries `bin` needs (as ldd lists them) into `rootfs`, so the
/// dynamically linked skiff can really run inside the busybox container.
fn copy_shared_libs(bin: &str, rootfs: &std::path::Path) {
    let out = std::process::Command::new("ldd").arg(bin).output().unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let path = line.split_whitespace().find(|w| w.starts_with('/'));
        if let Some(p) = path {
            let dest = rootfs.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(p, &dest).unwrap();
        }
    }
}

#[test]
fn proc_self_exe_inside_the_container_is_never_the_host_binary() {
    // An image whose program is #!/proc/self/exe makes the kernel run whatever the init
    // runs from. Here the program is /proc/self/exe itself: it prints skiff's version, so
    // it did run skiff — from the sealed view — and the host file is unchanged.
    let before = sha(skiff_bin());
    let skiff = Skiff::new();
    let mut b = Bundle::new(&["/bin/evil", "--version"]);
    std::fs::write(b.rootfs().join("bin/evil"), "#!/proc/self/exe\n").unwrap();
    std::process::Command::new("chmod")
        .arg("755")
        .arg(b.rootfs().join("bin/evil"))
        .status()
        .unwrap();
    b.edit(|c| c["process"]["args"] = json!(["/proc/self/exe", "--version"]));
    copy_shared_libs(skiff_bin(), &b.rootfs());
    let id = unique_id("evil");
    let (code, out, err) = skiff.run_container(&b, &id);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("skiff version"), "{out}");
    // A second container process trying to write through /proc/1/exe while it runs.
    b.edit(|c| {
        c["root"]["readonly"] = json!(false);
        c["process"]["args"] = json!(["sh", "-c", "/bin/evil state x & sleep 0.2; for p in /proc/[0-9]*; do echo x 2>/dev/null >> $p/exe && echo WROTE $p; done; true"]);
    });
    let (code, out, err) = skiff.run_container(&b, &unique_id("evil"));
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("WROTE"), "{out}");
    assert_eq!(before, sha(skiff_bin()), "the host binary changed");
}

#[test]
fn the_waiting_init_is_not_dumpable() {
    // A process of the container (here: a second container joining the first one's PID
    // namespace) must not open the init's /proc/<pid>/exe or mem while it is still skiff.
    let skiff = Skiff::new();
    let b = Bundle::new(&["sleep", "1000"]);
    let id = unique_id("dump");
    skiff.create(&b, &id);
    let pid = skiff.state(&id)["pid"].as_i64().unwrap();
    let (code, out, err) = skiff.exec_in(&["sh", "-c", "cat /proc/1/exe > /dev/null && echo READ-EXE; cat /proc/1/environ > /dev/null && echo READ-ENV; echo end"], |c| {
        remove_namespace(c, "pid");
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.push(json!({"type": "pid", "path": format!("/proc/{pid}/ns/pid")}));
    });
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("end") && !out.contains("READ-EXE") && !out.contains("READ-ENV"),
        "{out}"
    );
    skiff.ok(&["delete", "-f", &id]);
    assert_nothing_left(&skiff, &id, &b);
}

#[test]
fn the_host_cgroupfs_is_never_writable_from_the_container() {
    // CVE-2023-25809: without a cgroup namespace the container sees its own cgroup
    // directories read-only, and nothing of the host's hierarchy.
    let skiff = Skiff::new();
    let script = "for f in /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids/cgroup.procs /sys/fs/cgroup/memory/memory.limit_in_bytes; do echo 1 2>/dev/null > $f && echo WROTE $f; done; ls /sys/fs/cgroup/memory | grep -c . ; echo end";
    let (code, out, err) = skiff.exec_in(&["sh", "-c", script], |_| {});
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("WROTE"), "{out}");
    assert!(out.ends_with("end\n"), "{out}");
}

#[test]
fn large_configs_work_or_fail_cleanly() {
    // CVE-2021-43784 was a length truncated in runc's setup protocol: big annotations
    // (they travel in the state JSON to the init) must work or fail with a clear error.
    let skiff = Skiff::new();
    let big: serde_json::Map<String, serde_json::Value> = (0..2000)
        .map(|i| (format!("org.example/key-{i}"), json!("x".repeat(50))))
        .collect();
    let (code, out, err) = skiff.exec_in(&["echo", "ok"], |c| c["annotations"] = json!(big));
    assert_eq!((code, out.as_str()), (0, "ok\n"), "{err}");
    let huge: serde_json::Map<String, serde_json::Value> = (0..40)
        .map(|i| {
            (
                format!("org.example/huge-{i}"),
                json!("y".repeat(64 * 1024)),
            )
        })
        .collect();
    let (code, out, err) = skiff.exec_in(&["echo", "ok"], |c| c["annotations"] = json!(huge));
    // exec_in has checked that nothing is left behind either way.
    assert!(
        code == 0 && out == "ok\n" || (code != 0 && !err.trim().is_empty()),
        "{code} {out} {err}"
    );
}
