//! `linux.resources.blockIO`: v1 blkio, v2 io.
//!
//! Weights need a proportional-weight I/O scheduler: CFQ (`blkio.weight`, removed in
//! Linux 5.0) or BFQ (`blkio.bfq.weight`, `io.bfq.weight`); v2 also has `io.weight`
//! (blk-iocost). Throttling works with any scheduler. A weight of 0 means unset
//! (docker sends `weight: 0`).

use super::file::{self, invalid};
use super::Result;
use oci_spec::runtime::{LinuxBlockIo, LinuxThrottleDevice};
use std::path::Path;

const F: &str = "linux.resources.blockIO";
/// The weight range of CFQ and of docker's --blkio-weight; runc's v2 conversion
/// assumes it too.
const WEIGHT: std::ops::RangeInclusive<u16> = 10..=1000;
const NO_WEIGHT: &str = "no proportional-weight I/O scheduler: CFQ is gone since Linux 5.0 \
                         and BFQ's blkio.bfq.weight is missing too";

fn set(w: Option<u16>) -> Option<u16> {
    w.filter(|&w| w != 0)
}

/// The four throttle lists: (field name, v1 file, v2 io.max key).
fn throttles(
    b: &LinuxBlockIo,
) -> [(
    &'static str,
    &'static str,
    &'static str,
    &[LinuxThrottleDevice],
); 4] {
    fn list(l: &Option<Vec<LinuxThrottleDevice>>) -> &[LinuxThrottleDevice] {
        l.as_deref().unwrap_or(&[])
    }
    [
        (
            "throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            "rbps",
            list(b.throttle_read_bps_device()),
        ),
        (
            "throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            "wbps",
            list(b.throttle_write_bps_device()),
        ),
        (
            "throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            "riops",
            list(b.throttle_read_iops_device()),
        ),
        (
            "throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            "wiops",
            list(b.throttle_write_iops_device()),
        ),
    ]
}

pub(super) fn wanted(b: &LinuxBlockIo) -> Option<String> {
    if set(b.weight()).is_some() {
        return Some(format!("{F}.weight"));
    }
    if set(b.leaf_weight()).is_some() {
        return Some(format!("{F}.leafWeight"));
    }
    if !b.weight_device().as_deref().unwrap_or(&[]).is_empty() {
        return Some(format!("{F}.weightDevice"));
    }
    throttles(b)
        .iter()
        .find(|(_, _, _, l)| !l.is_empty())
        .map(|(name, _, _, _)| format!("{F}.{name}"))
}

pub(super) fn validate(b: &LinuxBlockIo) -> Result<()> {
    let weight = |field: String, w: Option<u16>| match set(w) {
        Some(w) if !WEIGHT.contains(&w) => {
            Err(invalid(field, format!("{w} is out of range 10-1000")))
        }
        _ => Ok(()),
    };
    weight(format!("{F}.weight"), b.weight())?;
    weight(format!("{F}.leafWeight"), b.leaf_weight())?;
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("{F}.weightDevice[{i}]");
        check_device(&field, d.major(), d.minor())?;
        if set(d.weight()).is_none() && set(d.leaf_weight()).is_none() {
            return Err(invalid(field, "needs a weight or a leafWeight"));
        }
        weight(format!("{field}.weight"), d.weight())?;
        weight(format!("{field}.leafWeight"), d.leaf_weight())?;
    }
    for (name, _, _, list) in throttles(b) {
        for (i, d) in list.iter().enumerate() {
            check_device(&format!("{F}.{name}[{i}]"), d.major(), d.minor())?;
        }
    }
    Ok(())
}

fn check_device(field: &str, major: i64, minor: i64) -> Result<()> {
    if major < 0 || minor < 0 {
        return Err(invalid(
            field,
            format!("device {major}:{minor} has a negative number"),
        ));
    }
    Ok(())
}

/// v1, runc's order: weight, leaf weight, per-device weights, throttles. BFQ's files
/// are used when present (`blkio.bfq.weight`), else CFQ's.
pub(super) fn set_v1(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let bfq = file::exists(dir, "blkio.bfq.weight");
    let (weight_file, device_file) = if bfq {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    } else {
        ("blkio.weight", "blkio.weight_device")
    };
    if let Some(w) = set(b.weight()) {
        file::write(dir, weight_file, &w.to_string(), &format!("{F}.weight"))
            .map_err(|e| e.when_missing(NO_WEIGHT))?;
    }
    if let Some(w) = set(b.leaf_weight()) {
        file::write(
            dir,
            "blkio.leaf_weight",
            &w.to_string(),
            &format!("{F}.leafWeight"),
        )
        .map_err(|e| e.when_missing("leaf weights exist only with CFQ, gone since Linux 5.0"))?;
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("{F}.weightDevice[{i}]");
        if let Some(w) = set(d.weight()) {
            let line = device_line(d.major(), d.minor(), &w.to_string());
            file::write(dir, device_file, &line, &format!("{field}.weight"))
                .map_err(|e| e.when_missing(NO_WEIGHT))?;
        }
        if let Some(w) = set(d.leaf_weight()) {
            let line = device_line(d.major(), d.minor(), &w.to_string());
            file::write(
                dir,
                "blkio.leaf_weight_device",
                &line,
                &format!("{field}.leafWeight"),
            )
            .map_err(|e| {
                e.when_missing("leaf weights exist only with CFQ, gone since Linux 5.0")
            })?;
        }
    }
    for (name, v1_file, _, list) in throttles(b) {
        for (i, d) in list.iter().enumerate() {
            let line = device_line(d.major(), d.minor(), &d.rate().to_string());
            file::write(dir, v1_file, &line, &format!("{F}.{name}[{i}]"))?;
        }
    }
    Ok(())
}

/// v2 (runc's mapping): the weight goes to io.bfq.weight as is when BFQ is there, else
/// converted to io.weight; per-device weights likewise; throttles become io.max lines.
/// Leaf weights have no v2 meaning (runc ignores them).
pub(super) fn set_v2(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    let bfq = file::exists(dir, "io.bfq.weight");
    let (weight_file, convert): (&str, fn(u16) -> u64) = if bfq {
        ("io.bfq.weight", |w| w.into())
    } else {
        ("io.weight", weight_to_io_weight)
    };
    let no_weight = "neither BFQ (io.bfq.weight) nor blk-iocost (io.weight) is available";
    if let Some(w) = set(b.weight()) {
        file::write(
            dir,
            weight_file,
            &convert(w).to_string(),
            &format!("{F}.weight"),
        )
        .map_err(|e| e.when_missing(no_weight))?;
    }
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        if let Some(w) = set(d.weight()) {
            let line = device_line(d.major(), d.minor(), &convert(w).to_string());
            file::write(
                dir,
                weight_file,
                &line,
                &format!("{F}.weightDevice[{i}].weight"),
            )
            .map_err(|e| e.when_missing(no_weight))?;
        }
    }
    if set(b.leaf_weight()).is_some()
        || b.weight_device()
            .iter()
            .flatten()
            .any(|d| set(d.leaf_weight()).is_some())
    {
        log::warn!("{F}.leafWeight: has no cgroup v2 equivalent; ignored");
    }
    for (name, _, key, list) in throttles(b) {
        for (i, d) in list.iter().enumerate() {
            let line = io_max_line(d.major(), d.minor(), key, d.rate());
            file::write(dir, "io.max", &line, &format!("{F}.{name}[{i}]"))?;
        }
    }
    Ok(())
}

fn device_line(major: i64, minor: i64, value: &str) -> String {
    format!("{major}:{minor} {value}")
}

/// An io.max line. A rate of 0 removes the limit, as it does on v1.
pub(super) fn io_max_line(major: i64, minor: i64, key: &str, rate: u64) -> String {
    if rate == 0 {
        format!("{major}:{minor} {key}=max")
    } else {
        format!("{major}:{minor} {key}={rate}")
    }
}

/// io.weight [1-10000] from blkio.weight [10-1000], linearly (runc's
/// ConvertBlkIOToIOWeightValue): 10 → 1, 500 → 4950, 1000 → 10000.
pub(super) fn weight_to_io_weight(weight: u16) -> u64 {
    let w = u64::from(weight.max(10));
    1 + (w - 10) * 9999 / 990
}

#[cfg(test)]
#[path = "tests/blkio.rs"]
mod tests;
