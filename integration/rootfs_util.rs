//! Helpers shared by the rootfs_* integration tests: mountinfo parsing, config edits,
//! host-side mounts that are always unmounted.
#![allow(dead_code)]

use crate::common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

/// One line of /proc/self/mountinfo.
#[derive(Debug, Clone)]
pub struct MountLine {
    pub root: String,
    pub point: String,
    /// Per-mount options (field 6), split.
    pub opts: Vec<String>,
    /// Optional fields: shared:N, master:N, propagate_from:N, unbindable.
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Superblock options, split.
    pub super_opts: Vec<String>,
}

impl MountLine {
    pub fn has(&self, opt: &str) -> bool {
        self.opts.iter().any(|o| o == opt)
    }

    pub fn has_super(&self, opt: &str) -> bool {
        self.super_opts.iter().any(|o| o == opt)
    }

    /// The propagation as mountinfo shows it: "shared", "slave", "shared,slave",
    /// "unbindable" or "private".
    pub fn propagation(&self) -> String {
        let mut kinds = Vec::new();
        if self.optional.iter().any(|o| o.starts_with("shared:")) {
            kinds.push("shared");
        }
        if self.optional.iter().any(|o| o.starts_with("master:")) {
            kinds.push("slave");
        }
        if self.optional.iter().any(|o| o == "unbindable") {
            kinds.push("unbindable");
        }
        if kinds.is_empty() {
            "private".into()
        } else {
            kinds.join(",")
        }
    }
}

pub fn parse_mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some(MountLine {
                root: f.get(3)?.to_string(),
                point: f.get(4)?.to_string(),
                opts: f.get(5)?.split(',').map(str::to_string).collect(),
                optional: f[6..sep].iter().map(|s| s.to_string()).collect(),
                fstype: f.get(sep + 1)?.to_string(),
                source: f.get(sep + 2)?.to_string(),
                super_opts: f
                    .get(sep + 3)
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The topmost mount at `point` in a mountinfo dump (the last line for it).
pub fn mount_at<'a>(lines: &'a [MountLine], point: &str) -> &'a MountLine {
    lines
        .iter()
        .rev()
        .find(|l| l.point == point)
        .unwrap_or_else(|| panic!("no mount at {point} in:\n{lines:#?}"))
}

pub fn has_mount_at(lines: &[MountLine], point: &str) -> bool {
    lines.iter().any(|l| l.point == point)
}

/// Runs `sh -c script` in a fresh container with the config edited by `edit`; asserts
/// success and that nothing is left; returns stdout.
pub fn run_ok(skiff: &Skiff, script: &str, edit: impl FnOnce(&mut Value)) -> String {
    let (code, out, err) = skiff.exec_in(&["sh", "-c", script], edit);
    assert_eq!(code, 0, "container failed.\nstdout:\n{out}\nstderr:\n{err}");
    out
}

/// Like [`run_ok`] with a bundle prepared by the caller (files in the rootfs, ...).
pub fn run_bundle_ok(skiff: &Skiff, b: &Bundle) -> String {
    let id = unique_id("rf");
    let (code, out, err) = skiff.run_container(b, &id);
    assert_nothing_left(skiff, &id, b);
    assert_eq!(code, 0, "container failed.\nstdout:\n{out}\nstderr:\n{err}");
    out
}

/// Runs the bundle expecting create to fail; returns stderr. Checks nothing is left.
pub fn run_bundle_fails(skiff: &Skiff, b: &Bundle) -> String {
    let id = unique_id("rf");
    let (code, out, err) = skiff.run_container(b, &id);
    assert_nothing_left(skiff, &id, b);
    assert_ne!(code, 0, "container unexpectedly ran.\nstdout:\n{out}");
    err
}

/// Runs `script` and returns the container's mountinfo (printed last, after a marker)
/// and what the script printed before it.
pub fn run_mountinfo(
    skiff: &Skiff,
    script: &str,
    edit: impl FnOnce(&mut Value),
) -> (String, Vec<MountLine>) {
    let out = run_ok(
        skiff,
        &format!("{script}\necho ==mountinfo==; cat /proc/self/mountinfo"),
        edit,
    );
    let (before, info) = out.split_once("==mountinfo==\n").expect("marker");
    (before.to_string(), parse_mountinfo(info))
}

pub fn add_mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().expect("mounts").push(m);
}

pub fn tmpfs(dest: &str, opts: &[&str]) -> Value {
    json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": opts})
}

pub fn bind(dest: &str, source: &str, opts: &[&str]) -> Value {
    json!({"destination": dest, "type": "bind", "source": source, "options": opts})
}

/// Host id the container's root maps to in [`user_ns`].
pub const USERNS_BASE: u32 = 100000;

/// A user namespace mapping container 0..65536 to host 100000..165536.
pub fn user_ns(c: &mut Value) {
    add_namespace(c, "user");
    let map = json!([{"containerID": 0, "hostID": USERNS_BASE, "size": 65536}]);
    c["linux"]["uidMappings"] = map.clone();
    c["linux"]["gidMappings"] = map;
}

/// Gives the rootfs to the user namespace's root, as an image unpacked for it would be.
pub fn chown_rootfs(b: &Bundle) {
    let st = Command::new("chown")
        .args(["-R", "-h", &format!("{USERNS_BASE}:{USERNS_BASE}")])
        .arg(b.rootfs())
        .status()
        .unwrap();
    assert!(st.success());
}

pub fn add_caps(c: &mut Value, caps: &[&str]) {
    for set in ["bounding", "effective", "permitted"] {
        let list = c["process"]["capabilities"][set].as_array_mut().unwrap();
        for cap in caps {
            list.push(json!(cap));
        }
    }
}

/// A mount on the host, unmounted (lazily) on drop.
pub struct HostMount(pub PathBuf);

impl HostMount {
    pub fn new(fstype: &str, opts: &str, point: &Path) -> HostMount {
        std::fs::create_dir_all(point).unwrap();
        let st = Command::new("mount")
            .args(["-t", fstype, "-o", opts, fstype])
            .arg(point)
            .status()
            .unwrap();
        assert!(st.success(), "mount {fstype} on {}", point.display());
        // Keep it out of any peer group, so nothing of it leaks anywhere.
        let _ = Command::new("mount")
            .arg("--make-private")
            .arg(point)
            .status();
        HostMount(point.to_path_buf())
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Every entry below `dir` (relative paths, sorted): to show the host is untouched.
pub fn tree_of(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The host's mountinfo lines for mount points under `dir`.
pub fn host_mounts_under(dir: &Path) -> Vec<String> {
    mounts_under(dir)
}
