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
#[path = "tests/memory.rs"]
mod tests;
