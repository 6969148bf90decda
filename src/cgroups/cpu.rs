//! `linux.resources.cpu` (except cpus/mems, see cpuset.rs): CFS shares, quota, period
//! and burst, realtime bandwidth, SCHED_IDLE.
//!
//! 0 means "not set" for shares, quota, period and the realtime values (runc; docker
//! sends `shares: 0` for unset). A negative quota means unlimited.

use super::file::{self, invalid};
use super::Result;
use oci_spec::runtime::LinuxCpu;
use std::path::Path;

const F: &str = "linux.resources.cpu";

/// The kernel's cpu.shares range (MIN_SHARES, MAX_SHARES = 1 << 18); it silently clamps
/// anything else, which runc reports as an error after reading the value back.
const SHARES: std::ops::RangeInclusive<u64> = 2..=262_144;
/// CFS period bounds in µs (the kernel's min/max_cfs_quota_period: 1 ms, 1 s).
const PERIOD: std::ops::RangeInclusive<u64> = 1_000..=1_000_000;
/// The smallest positive quota the kernel takes (µs).
const MIN_QUOTA: i64 = 1_000;

pub(super) fn wanted(c: &LinuxCpu) -> Option<String> {
    let set = [
        ("shares", c.shares().unwrap_or(0) != 0),
        ("quota", c.quota().unwrap_or(0) != 0),
        ("period", c.period().unwrap_or(0) != 0),
        ("burst", c.burst().is_some()),
        ("realtimeRuntime", c.realtime_runtime().unwrap_or(0) != 0),
        ("realtimePeriod", c.realtime_period().unwrap_or(0) != 0),
        ("idle", c.idle().is_some()),
    ];
    set.iter()
        .find(|(_, on)| *on)
        .map(|(name, _)| format!("{F}.{name}"))
}

pub(super) fn validate(c: &LinuxCpu) -> Result<()> {
    if let Some(s) = c.shares().filter(|&s| s != 0 && !SHARES.contains(&s)) {
        return Err(invalid(
            format!("{F}.shares"),
            format!("{s} is out of the kernel's range 2-262144"),
        ));
    }
    if let Some(p) = c.period().filter(|&p| p != 0 && !PERIOD.contains(&p)) {
        return Err(invalid(
            format!("{F}.period"),
            format!("{p} µs is out of the kernel's range 1000-1000000 µs"),
        ));
    }
    let quota = c.quota().unwrap_or(0);
    if quota > 0 && quota < MIN_QUOTA {
        return Err(invalid(
            format!("{F}.quota"),
            format!("{quota} µs is below the kernel's minimum of 1000 µs (use -1 for unlimited)"),
        ));
    }
    if let Some(b) = c.burst().filter(|&b| quota > 0 && b > quota as u64) {
        // runtime-spec: burst MUST be no larger than a positive quota.
        return Err(invalid(
            format!("{F}.burst"),
            format!("{b} µs exceeds the quota of {quota} µs"),
        ));
    }
    let (rt_runtime, rt_period) = (
        c.realtime_runtime().unwrap_or(0),
        c.realtime_period().unwrap_or(0),
    );
    if rt_runtime < -1 {
        return Err(invalid(
            format!("{F}.realtimeRuntime"),
            format!("{rt_runtime} is neither a time in µs nor -1 (unlimited)"),
        ));
    }
    if rt_runtime > 0 && rt_period > 0 && rt_runtime as u64 > rt_period {
        return Err(invalid(
            format!("{F}.realtimeRuntime"),
            format!("{rt_runtime} µs exceeds the realtime period of {rt_period} µs"),
        ));
    }
    if let Some(i) = c.idle().filter(|i| !matches!(i, 0 | 1)) {
        return Err(invalid(
            format!("{F}.idle"),
            format!("{i} is neither 0 nor 1"),
        ));
    }
    Ok(())
}

/// v1, in runc's order: shares; period, quota (a period the kernel refuses next to the
/// old quota is retried after the quota); burst; realtime period and runtime (same dance).
pub(super) fn set_v1(dir: &Path, c: &LinuxCpu) -> Result<()> {
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        file::write(dir, "cpu.shares", &s.to_string(), &format!("{F}.shares"))?;
    }
    let quota = c.quota().unwrap_or(0);
    pair(
        dir,
        ("cpu.cfs_period_us", c.period().unwrap_or(0), "period"),
        ("cpu.cfs_quota_us", quota, "quota"),
    )?;
    if let Some(b) = c.burst() {
        file::write(
            dir,
            "cpu.cfs_burst_us",
            &b.to_string(),
            &format!("{F}.burst"),
        )
        .map_err(|e| e.when_missing("CFS burst needs Linux 5.14"))?;
    }
    pair(
        dir,
        (
            "cpu.rt_period_us",
            c.realtime_period().unwrap_or(0),
            "realtimePeriod",
        ),
        (
            "cpu.rt_runtime_us",
            c.realtime_runtime().unwrap_or(0),
            "realtimeRuntime",
        ),
    )
    .map_err(|e| {
        e.when_missing("the kernel has no realtime group scheduling (CONFIG_RT_GROUP_SCHED)")
    })?;
    if let Some(i) = c.idle() {
        file::write(dir, "cpu.idle", &i.to_string(), &format!("{F}.idle"))
            .map_err(|e| e.when_missing("SCHED_IDLE groups need Linux 5.15"))?;
    }
    Ok(())
}

/// Writes a period and its budget. The kernel checks each write against the other value
/// (and the parent's limits), so a new period can be refused (EINVAL) until the new
/// budget is in: then it is written again afterwards.
fn pair(dir: &Path, period: (&str, u64, &str), budget: (&str, i64, &str)) -> Result<()> {
    let field = |name: &str| format!("{F}.{name}");
    let mut retry_period = false;
    if period.1 != 0 {
        let value = period.1.to_string();
        match file::try_write(dir, period.0, &value) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && budget.1 != 0 => {
                retry_period = true
            }
            Err(e) => {
                return Err(file::write_error(
                    &field(period.2),
                    dir,
                    period.0,
                    &value,
                    e,
                ))
            }
        }
    }
    if budget.1 != 0 {
        file::write(dir, budget.0, &budget.1.to_string(), &field(budget.2))?;
    }
    if retry_period {
        file::write(dir, period.0, &period.1.to_string(), &field(period.2))?;
    }
    Ok(())
}

/// v2: cpu.weight (converted from shares), cpu.max "quota period", cpu.max.burst,
/// cpu.idle. Realtime bandwidth has no v2 interface.
pub(super) fn set_v2(dir: &Path, c: &LinuxCpu) -> Result<()> {
    for (name, set) in [
        ("realtimeRuntime", c.realtime_runtime().unwrap_or(0) != 0),
        ("realtimePeriod", c.realtime_period().unwrap_or(0) != 0),
    ] {
        if set {
            return Err(invalid(
                format!("{F}.{name}"),
                "realtime CPU bandwidth has no cgroup v2 interface",
            ));
        }
    }
    if let Some(s) = c.shares().filter(|&s| s != 0) {
        file::write(
            dir,
            "cpu.weight",
            &shares_to_weight(s).to_string(),
            &format!("{F}.shares"),
        )?;
    }
    let max = cpu_max(c.quota().unwrap_or(0), c.period().unwrap_or(0));
    // Like period and quota on v1: a burst refused next to the old quota goes after it.
    let mut retry_burst = None;
    if let Some(b) = c.burst() {
        let value = b.to_string();
        match file::try_write(dir, "cpu.max.burst", &value) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && max.is_some() => {
                retry_burst = Some(value)
            }
            Err(e) => {
                return Err(file::write_error(
                    &format!("{F}.burst"),
                    dir,
                    "cpu.max.burst",
                    &value,
                    e,
                ))
            }
        }
    }
    if let Some(max) = max {
        file::write(dir, "cpu.max", &max, &format!("{F}.quota"))?;
    }
    if let Some(value) = retry_burst {
        file::write(dir, "cpu.max.burst", &value, &format!("{F}.burst"))?;
    }
    if let Some(i) = c.idle() {
        file::write(dir, "cpu.idle", &i.to_string(), &format!("{F}.idle"))?;
    }
    Ok(())
}

/// cpu.weight [1-10000] from cpu.shares [2-262144]: the conversion of current runc
/// (opencontainers/cgroups) and crun, a quadratic in log2(shares) through the end points
/// and the defaults (1024 → 100). The older linear formula `1 + (s - 2) * 9999 / 262142`
/// mapped the default 1024 shares to 39, well below v2's default weight of 100.
pub(super) fn shares_to_weight(shares: u64) -> u64 {
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// The cpu.max line: "max" for an unlimited (negative) or unset quota, the period
/// appended when given. None when neither is set.
pub(super) fn cpu_max(quota: i64, period: u64) -> Option<String> {
    if quota == 0 && period == 0 {
        return None;
    }
    let mut line = if quota > 0 {
        quota.to_string()
    } else {
        "max".to_string()
    };
    if period != 0 {
        line.push_str(&format!(" {period}"));
    }
    Some(line)
}

#[cfg(test)]
#[path = "tests/cpu.rs"]
mod tests;
