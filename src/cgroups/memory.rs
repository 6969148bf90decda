//! `linux.resources.memory`: the memory controller.
//!
//! 0 means "not set" for every byte value (runc's Go zero values; docker leaves unset
//! values out), -1 means unlimited. `swap` is memory+swap as in v1's
//! `memory.memsw.limit_in_bytes`; v2 has a separate `memory.swap.max`, so it is converted.

use super::file::{self, invalid};
use super::Result;
use oci_spec::runtime::LinuxMemory;
use std::path::Path;

const F: &str = "linux.resources.memory";
const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

/// Docker encodes "unset" swappiness as -1 in a uint64.
const SWAPPINESS_UNSET: u64 = u64::MAX;

// `kernel` is deprecated in the spec and by the kernel; skiff still honours it on v1.
#[allow(deprecated)]
fn kernel(m: &LinuxMemory) -> i64 {
    m.kernel().unwrap_or(0)
}

fn swappiness(m: &LinuxMemory) -> Option<u64> {
    m.swappiness().filter(|&s| s != SWAPPINESS_UNSET)
}

/// The first field that needs the memory controller, if any. `checkBeforeUpdate` only
/// matters to `update`, and `disableOOMKiller: false` is the default.
pub(super) fn wanted(m: &LinuxMemory) -> Option<String> {
    let set = [
        ("limit", m.limit().unwrap_or(0) != 0),
        ("reservation", m.reservation().unwrap_or(0) != 0),
        ("swap", m.swap().unwrap_or(0) != 0),
        ("kernel", kernel(m) != 0),
        ("kernelTCP", m.kernel_tcp().unwrap_or(0) != 0),
        ("swappiness", swappiness(m).is_some()),
        ("disableOOMKiller", m.disable_oom_killer() == Some(true)),
        ("useHierarchy", m.use_hierarchy().is_some()),
    ];
    set.iter()
        .find(|(_, on)| *on)
        .map(|(name, _)| format!("{F}.{name}"))
}

pub(super) fn validate(m: &LinuxMemory) -> Result<()> {
    let bytes = [
        ("limit", m.limit()),
        ("reservation", m.reservation()),
        ("swap", m.swap()),
        ("kernel", Some(kernel(m))),
        ("kernelTCP", m.kernel_tcp()),
    ];
    for (name, value) in bytes {
        if let Some(v) = value.filter(|&v| v < -1) {
            return Err(invalid(
                format!("{F}.{name}"),
                format!("{v} is neither a number of bytes nor -1 (unlimited)"),
            ));
        }
    }
    let (limit, swap) = (m.limit().unwrap_or(0), m.swap().unwrap_or(0));
    if limit > 0 && swap > 0 && swap < limit {
        return Err(invalid(
            format!("{F}.swap"),
            format!("memory+swap limit {swap} is below the memory limit {limit}"),
        ));
    }
    if let Some(s) = swappiness(m).filter(|&s| s > 100) {
        return Err(invalid(
            format!("{F}.swappiness"),
            format!("{s} is out of range 0-100"),
        ));
    }
    Ok(())
}

/// v1. Follows runc: memory.limit and memsw move together, and memsw may never be below
/// the memory limit, so the order of the two writes depends on the current limit.
pub(super) fn set_v1(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = m.limit().unwrap_or(0);
    let mut swap = m.swap().unwrap_or(0);
    if swap > 0 && limit <= 0 {
        // memsw must be >= the memory limit, which is unlimited here: the kernel
        // would answer EINVAL.
        return Err(invalid(
            format!("{F}.swap"),
            "a memory+swap limit needs a memory limit on cgroup v1",
        ));
    }
    // An unlimited memory limit with swap left unset frees swap too (as runc).
    if limit == -1 && swap == 0 && file::exists(dir, MEMSW) {
        swap = -1;
    }
    let write_limit = || write_bytes(dir, LIMIT, limit, "limit");
    let write_swap = || {
        write_bytes(dir, MEMSW, swap, "swap")
            .map_err(|e| e.when_missing("swap accounting is disabled in this kernel"))
    };
    let swap_first = limit != 0 && swap != 0 && {
        let current: u64 = file::read(dir, LIMIT)?.parse().unwrap_or(u64::MAX);
        swap == -1 || current < swap as u64
    };
    if swap_first {
        write_swap()?;
        write_limit()?;
    } else {
        write_limit()?;
        write_swap()?;
    }
    set_kernel_v1(dir, kernel(m))?;
    write_bytes(
        dir,
        "memory.kmem.tcp.limit_in_bytes",
        m.kernel_tcp().unwrap_or(0),
        "kernelTCP",
    )?;
    write_bytes(
        dir,
        "memory.soft_limit_in_bytes",
        m.reservation().unwrap_or(0),
        "reservation",
    )?;
    if m.disable_oom_killer() == Some(true) {
        file::write(
            dir,
            "memory.oom_control",
            "1",
            &format!("{F}.disableOOMKiller"),
        )?;
    }
    if let Some(s) = swappiness(m) {
        file::write(
            dir,
            "memory.swappiness",
            &s.to_string(),
            &format!("{F}.swappiness"),
        )?;
    }
    if let Some(h) = m.use_hierarchy() {
        // Since Linux 5.16 hierarchy is always on and writing 0 fails with EINVAL.
        file::write(
            dir,
            "memory.use_hierarchy",
            if h { "1" } else { "0" },
            &format!("{F}.useHierarchy"),
        )?;
    }
    Ok(())
}

/// The kernel deprecated kmem limits (5.4) and later stopped enforcing them: recent ones
/// accept and ignore the write, some refuse it. Like the spec (which deprecates the field)
/// and runc (which ignores it), a kernel that refuses gets a warning, not a failure.
fn set_kernel_v1(dir: &Path, kernel: i64) -> Result<()> {
    if kernel == 0 {
        return Ok(());
    }
    let file = "memory.kmem.limit_in_bytes";
    match file::try_write(dir, file, &kernel.to_string()) {
        Ok(()) => Ok(()),
        // ENOTSUPP (524) is the kernel-internal code some versions leak here.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOENT | libc::EOPNOTSUPP | 524)
            ) =>
        {
            log::warn!(
                "{F}.kernel: this kernel no longer supports kernel memory limits ({e}); ignored"
            );
            Ok(())
        }
        Err(e) => Err(file::write_error(
            &format!("{F}.kernel"),
            dir,
            file,
            &kernel.to_string(),
            e,
        )),
    }
}

fn write_bytes(dir: &Path, file: &str, value: i64, name: &str) -> Result<()> {
    if value == 0 {
        return Ok(());
    }
    file::write(dir, file, &value.to_string(), &format!("{F}.{name}"))
}

/// v2: memory.max, memory.swap.max, memory.low (runc's mapping).
pub(super) fn set_v2(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    let reservation = m.reservation().unwrap_or(0);
    if let Some(value) =
        swap_max_v2(swap, limit).map_err(|msg| invalid(format!("{F}.swap"), msg))?
    {
        match file::try_write(dir, "memory.swap.max", &value) {
            // Without swap accounting there is no swap to allow or forbid.
            Err(e)
                if e.raw_os_error() == Some(libc::ENOENT) && (value == "max" || value == "0") => {}
            r => r.map_err(|e| {
                file::write_error(&format!("{F}.swap"), dir, "memory.swap.max", &value, e)
            })?,
        }
    }
    if let Some(v) = v2_bytes(limit) {
        file::write(dir, "memory.max", &v, &format!("{F}.limit"))?;
    }
    if let Some(v) = v2_bytes(reservation) {
        file::write(dir, "memory.low", &v, &format!("{F}.reservation"))?;
    }
    if m.use_hierarchy() == Some(false) {
        return Err(invalid(
            format!("{F}.useHierarchy"),
            "cgroup v2 is always hierarchical",
        ));
    }
    // No v2 files for these; runc ignores them too.
    let ignored = [
        ("kernel", kernel(m) != 0),
        ("kernelTCP", m.kernel_tcp().unwrap_or(0) != 0),
        ("swappiness", swappiness(m).is_some()),
        ("disableOOMKiller", m.disable_oom_killer() == Some(true)),
    ];
    for (name, _) in ignored.iter().filter(|(_, set)| *set) {
        log::warn!("{F}.{name}: has no cgroup v2 equivalent; ignored");
    }
    Ok(())
}

/// A v2 byte value: 0 = leave alone, -1 = "max".
pub(super) fn v2_bytes(value: i64) -> Option<String> {
    match value {
        0 => None,
        -1 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

/// `memory.swap.max` from the spec's memory+swap `swap` and `limit` (runc's
/// ConvertMemorySwapToCgroupV2Value): swap only = swap - limit.
pub(super) fn swap_max_v2(swap: i64, limit: i64) -> std::result::Result<Option<String>, String> {
    Ok(match (swap, limit) {
        // Unlimited memory with swap unset: unlimited swap too, as on v1.
        (0, -1) => Some("max".into()),
        (0, _) => None,
        (-1, _) => Some("max".into()),
        (s, -1) => Some(s.to_string()),
        (_, 0) => return Err("a memory+swap limit needs a memory limit".into()),
        (_, l) if l < 0 => return Err(format!("invalid memory limit {l}")),
        (s, l) if s < l => {
            return Err(format!(
                "memory+swap limit {s} is below the memory limit {l}"
            ))
        }
        (s, l) => Some((s - l).to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mem(v: serde_json::Value) -> LinuxMemory {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn swap_converts_to_v2_swap_only() {
        assert_eq!(swap_max_v2(0, 0), Ok(None));
        assert_eq!(swap_max_v2(0, 100), Ok(None));
        assert_eq!(swap_max_v2(0, -1), Ok(Some("max".into())));
        assert_eq!(swap_max_v2(-1, 100), Ok(Some("max".into())));
        assert_eq!(swap_max_v2(300, 100), Ok(Some("200".into())));
        // memory+swap == memory: no swap at all.
        assert_eq!(swap_max_v2(100, 100), Ok(Some("0".into())));
        assert_eq!(swap_max_v2(300, -1), Ok(Some("300".into())));
        assert!(swap_max_v2(300, 0).is_err());
        assert!(swap_max_v2(50, 100).is_err());
        assert!(swap_max_v2(50, -5).is_err());
    }

    #[test]
    fn v2_bytes_maps_unlimited_to_max() {
        assert_eq!(v2_bytes(0), None);
        assert_eq!(v2_bytes(-1).as_deref(), Some("max"));
        assert_eq!(v2_bytes(4096).as_deref(), Some("4096"));
    }

    #[test]
    fn validation_names_the_field() {
        let e = validate(&mem(json!({"limit": -2}))).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("linux.resources.memory.limit: -2"),
            "{e}"
        );
        let e = validate(&mem(json!({"limit": 200, "swap": 100}))).unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.memory.swap:"),
            "{e}"
        );
        let e = validate(&mem(json!({"swappiness": 101}))).unwrap_err();
        assert!(
            e.to_string()
                .contains("swappiness: 101 is out of range 0-100"),
            "{e}"
        );
        // docker's "unset" swappiness (-1 as uint64) and zeros are fine.
        validate(&mem(json!({"swappiness": u64::MAX, "limit": 0}))).unwrap();
        assert_eq!(
            wanted(&mem(
                json!({"swappiness": u64::MAX, "checkBeforeUpdate": true})
            )),
            None
        );
        assert_eq!(
            wanted(&mem(json!({"disableOOMKiller": false, "swap": 5}))).as_deref(),
            Some("linux.resources.memory.swap")
        );
    }

    /// A fake v1 memory cgroup: plain files with the kernel's initial values.
    fn fake_v1(limit: &str, memsw: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (f, v) in [
            (LIMIT, limit),
            (MEMSW, memsw),
            ("memory.kmem.limit_in_bytes", "9223372036854771712"),
            ("memory.kmem.tcp.limit_in_bytes", "9223372036854771712"),
            ("memory.soft_limit_in_bytes", "9223372036854771712"),
            ("memory.oom_control", "oom_kill_disable 0"),
            ("memory.swappiness", "60"),
            ("memory.use_hierarchy", "1"),
        ] {
            std::fs::write(d.path().join(f), v).unwrap();
        }
        d
    }

    #[test]
    fn v1_writes_every_file() {
        let d = fake_v1("9223372036854771712", "9223372036854771712");
        let m = mem(
            json!({"limit": 50593792, "reservation": 40000000, "swap": 60000000,
            "kernel": 50593792, "kernelTCP": 4096000, "swappiness": 10, "disableOOMKiller": true}),
        );
        set_v1(d.path(), &m).unwrap();
        let r = |f| file::read(d.path(), f).unwrap();
        assert_eq!(r(LIMIT), "50593792");
        assert_eq!(r(MEMSW), "60000000");
        assert_eq!(r("memory.kmem.limit_in_bytes"), "50593792");
        assert_eq!(r("memory.kmem.tcp.limit_in_bytes"), "4096000");
        assert_eq!(r("memory.soft_limit_in_bytes"), "40000000");
        assert_eq!(r("memory.oom_control"), "1");
        assert_eq!(r("memory.swappiness"), "10");
        assert_eq!(r("memory.use_hierarchy"), "1", "untouched when unset");
    }

    #[test]
    fn v1_unlimited_memory_frees_swap_and_swap_needs_a_limit() {
        let d = fake_v1("1000", "2000");
        set_v1(d.path(), &mem(json!({"limit": -1}))).unwrap();
        assert_eq!(file::read(d.path(), MEMSW).unwrap(), "-1");
        assert_eq!(file::read(d.path(), LIMIT).unwrap(), "-1");
        let e = set_v1(d.path(), &mem(json!({"swap": 5000}))).unwrap_err();
        assert!(
            e.to_string().starts_with("linux.resources.memory.swap:"),
            "{e}"
        );
    }

    #[test]
    fn v1_missing_memsw_is_a_clear_error() {
        let d = fake_v1("9223372036854771712", "x");
        std::fs::remove_file(d.path().join(MEMSW)).unwrap();
        let e = set_v1(d.path(), &mem(json!({"limit": 1000, "swap": 2000}))).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("(swap accounting is disabled in this kernel)"),
            "{e}"
        );
    }

    #[test]
    fn v2_writes_max_swap_and_low() {
        let d = tempfile::tempdir().unwrap();
        for f in ["memory.max", "memory.swap.max", "memory.low"] {
            std::fs::write(d.path().join(f), "max").unwrap();
        }
        set_v2(
            d.path(),
            &mem(json!({"limit": 1000, "swap": 3000, "reservation": 500})),
        )
        .unwrap();
        let r = |f| file::read(d.path(), f).unwrap();
        assert_eq!(r("memory.max"), "1000");
        assert_eq!(r("memory.swap.max"), "2000");
        assert_eq!(r("memory.low"), "500");
        // No swap accounting: limiting swap to 0 or max is moot, anything else an error.
        std::fs::remove_file(d.path().join("memory.swap.max")).unwrap();
        set_v2(d.path(), &mem(json!({"limit": 1000, "swap": 1000}))).unwrap();
        assert!(set_v2(d.path(), &mem(json!({"limit": 1000, "swap": 2000}))).is_err());
        let e = set_v2(d.path(), &mem(json!({"useHierarchy": false}))).unwrap_err();
        assert!(e.to_string().contains("always hierarchical"), "{e}");
    }
}
