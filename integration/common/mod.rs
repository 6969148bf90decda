//! Shared helpers for the integration tests: real containers, run with the skiff binary
//! as root, on a busybox rootfs.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub fn skiff_bin() -> &'static str {
    env!("CARGO_BIN_EXE_skiff")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The busybox rootfs every bundle copies, built once per test run.
pub fn rootfs_template() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = repo()
            .join("target")
            .join(format!("test-rootfs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let st = Command::new(repo().join("scripts/busybox-rootfs"))
            .arg(&dir)
            .status()
            .expect("run scripts/busybox-rootfs");
        assert!(st.success(), "building the busybox rootfs failed");
        dir
    })
}

/// A unique container id for this test process.
pub fn unique_id(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A bundle: a temporary directory with a rootfs copy and a config.json.
pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub config: Value,
}

impl Bundle {
    /// The config `skiff spec` writes, with terminal off and the given args.
    pub fn new(args: &[&str]) -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("skiff-it-")
            .tempdir()
            .expect("tempdir");
        let st = Command::new("cp")
            .arg("-a")
            .arg(rootfs_template())
            .arg(dir.path().join("rootfs"))
            .status()
            .expect("cp");
        assert!(st.success());
        let out = Command::new(skiff_bin())
            .args(["spec", "--bundle"])
            .arg(dir.path())
            .output()
            .expect("skiff spec");
        assert!(
            out.status.success(),
            "skiff spec: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.path().join("config.json")).expect("read config");
        let mut config: Value = serde_json::from_str(&text).expect("parse config");
        config["process"]["terminal"] = json!(false);
        config["process"]["args"] = json!(args);
        let b = Bundle { dir, config };
        b.save();
        b
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    pub fn save(&self) {
        std::fs::write(
            self.dir.path().join("config.json"),
            serde_json::to_vec_pretty(&self.config).unwrap(),
        )
        .unwrap();
    }

    /// Edits the config and saves it.
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) -> &mut Self {
        f(&mut self.config);
        self.save();
        self
    }
}

/// A skiff with its own state root, cleaned up (containers force-deleted) on drop.
pub struct Skiff {
    pub root: tempfile::TempDir,
}

impl Default for Skiff {
    fn default() -> Self {
        Self::new()
    }
}

impl Skiff {
    pub fn new() -> Skiff {
        let root = tempfile::Builder::new()
            .prefix("skiff-root-")
            .tempdir_in("/run")
            .expect("state root");
        Skiff { root }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(skiff_bin());
        c.arg("--root").arg(self.root.path());
        c.stdin(Stdio::null());
        c
    }

    /// Runs `skiff --root R <args>`, capturing output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("spawn skiff")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "skiff {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "skiff {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// `run` in the foreground: (exit code, stdout, stderr).
    pub fn run_container(&self, bundle: &Bundle, id: &str) -> (i32, String, String) {
        let out = self
            .cmd()
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(id)
            .output()
            .expect("spawn skiff run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs `args` in a fresh container on the default config (edited by `edit`); returns
    /// (exit code, stdout, stderr) and checks nothing is left behind.
    pub fn exec_in(&self, args: &[&str], edit: impl FnOnce(&mut Value)) -> (i32, String, String) {
        let mut b = Bundle::new(args);
        b.edit(edit);
        let id = unique_id("x");
        let r = self.run_container(&b, &id);
        assert_nothing_left(self, &id, &b);
        r
    }

    /// `create`. The container's stdio are files in the bundle (a pipe would stay open
    /// as the container's stdout until it exits): `<bundle>/<id>.out` and `.err`.
    pub fn create(&self, bundle: &Bundle, id: &str) {
        let (out, err) = (
            bundle.path().join(format!("{id}.out")),
            bundle.path().join(format!("{id}.err")),
        );
        let status = self
            .cmd()
            .args(["create", "--bundle"])
            .arg(bundle.path())
            .arg(id)
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        assert!(
            status.success(),
            "create failed: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
    }

    /// Like [`Skiff::fails`] for commands that may leave a container holding stdio.
    pub fn fails_detached(&self, args: &[&str]) -> String {
        let err = tempfile::NamedTempFile::new().unwrap();
        let status = self
            .cmd()
            .args(args)
            .stdout(Stdio::null())
            .stderr(err.reopen().unwrap())
            .status()
            .unwrap();
        assert!(!status.success(), "skiff {args:?} unexpectedly succeeded");
        std::fs::read_to_string(err.path()).unwrap()
    }

    pub fn state(&self, id: &str) -> Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state JSON")
    }

    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root.path().join(id)
    }
}

impl Drop for Skiff {
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(self.root.path()) {
            for e in entries.flatten() {
                let id = e.file_name().to_string_lossy().into_owned();
                let _ = self.run(&["delete", "--force", &id]);
            }
        }
    }
}

/// cgroup directories named `id` anywhere under /sys/fs/cgroup (a few levels deep).
pub fn cgroup_dirs_named(id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![(PathBuf::from("/sys/fs/cgroup"), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                if e.file_name().to_string_lossy() == id {
                    found.push(p.clone());
                }
                if depth < 4 {
                    stack.push((p, depth + 1));
                }
            }
        }
    }
    found
}

/// Pids of processes whose environment or command line mentions `needle`.
pub fn processes_mentioning(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == std::process::id() as i32 {
            continue;
        }
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// Mount points under `dir` in our mount namespace.
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|mp| Path::new(mp).starts_with(dir))
        .collect()
}

/// Nothing of container `id` remains: no state dir, no cgroup, no process, no mount.
pub fn assert_nothing_left(skiff: &Skiff, id: &str, bundle: &Bundle) {
    assert!(
        !skiff.state_dir(id).exists(),
        "state dir of {id} left behind"
    );
    let cgroups = cgroup_dirs_named(id);
    assert!(
        cgroups.is_empty(),
        "cgroups of {id} left behind: {cgroups:?}"
    );
    let mounts = mounts_under(bundle.path());
    assert!(mounts.is_empty(), "mounts left behind: {mounts:?}");
    let procs = processes_mentioning(&bundle.path().to_string_lossy());
    assert!(procs.is_empty(), "processes left behind: {procs:?}");
}

/// Waits up to ~5 s for `cond`.
pub fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    false
}

/// Config edits shared by many tests.
pub fn writable_root(c: &mut Value) {
    c["root"]["readonly"] = json!(false);
}

pub fn remove_namespace(c: &mut Value, typ: &str) {
    let ns: Vec<Value> = c["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] != typ)
        .cloned()
        .collect();
    c["linux"]["namespaces"] = json!(ns);
}

pub fn add_namespace(c: &mut Value, typ: &str) {
    remove_namespace(c, typ);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": typ}));
}

/// Reads a spawned child's piped stdout and stderr to EOF and waits for it.
pub fn output_to_eof(mut child: std::process::Child) -> (std::process::ExitStatus, String, String) {
    use std::io::Read;
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut o) = child.stdout.take() {
        o.read_to_string(&mut out).unwrap();
    }
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    (child.wait().unwrap(), out, err)
}

/// Removes the config's mount at `dest`.
pub fn remove_mount(c: &mut Value, dest: &str) {
    let mounts: Vec<Value> = c["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["destination"] != dest)
        .cloned()
        .collect();
    c["mounts"] = json!(mounts);
}
