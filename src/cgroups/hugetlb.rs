//! `linux.resources.hugepageLimits`: the hugetlb controller.
//!
//! v1 `hugetlb.<size>.limit_in_bytes`, v2 `hugetlb.<size>.max`; the reservation limits
//! (`.rsvd.`, Linux 5.7) get the same value where they exist, as runc does, so that a
//! mmap beyond the limit fails instead of a later page fault killing the task.

use super::file::{self, invalid};
use super::Result;
use oci_spec::runtime::LinuxHugepageLimit;
use std::path::Path;

const F: &str = "linux.resources.hugepageLimits";

pub(super) fn wanted(limits: &[LinuxHugepageLimit]) -> Option<String> {
    (!limits.is_empty()).then(|| F.to_string())
}

pub(super) fn validate(limits: &[LinuxHugepageLimit]) -> Result<()> {
    for (i, l) in limits.iter().enumerate() {
        if size_kb(l.page_size()).is_none() {
            return Err(invalid(
                format!("{F}[{i}].pageSize"),
                format!("{:?} is not a size like 2MB or 1GB", l.page_size()),
            ));
        }
        if l.limit() < -1 {
            return Err(invalid(
                format!("{F}[{i}].limit"),
                format!(
                    "{} is neither a number of bytes nor -1 (unlimited)",
                    l.limit()
                ),
            ));
        }
    }
    Ok(())
}

/// The page size in kB from the spec's `<n><KB|MB|GB>` (base 1024, as the kernel names
/// its files).
pub(super) fn size_kb(size: &str) -> Option<u64> {
    let unit = size.len().checked_sub(2)?;
    let (num, suffix) = size.split_at(unit);
    let n: u64 = (!num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
        .then(|| num.parse().ok())
        .flatten()?;
    let factor = match suffix {
        "KB" => 1,
        "MB" => 1 << 10,
        "GB" => 1 << 20,
        _ => return None,
    };
    n.checked_mul(factor).filter(|&kb| kb > 0)
}

/// Refuses a page size the host does not have, naming the ones it has.
fn check_host_size(index: usize, size: &str) -> Result<()> {
    let kb = size_kb(size).unwrap_or(0);
    let sysfs = Path::new("/sys/kernel/mm/hugepages");
    if sysfs.join(format!("hugepages-{kb}kB")).exists() {
        return Ok(());
    }
    let mut have: Vec<u64> = std::fs::read_dir(sysfs)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()
        })
        .collect();
    have.sort_unstable();
    let names: Vec<String> = have.iter().map(|&kb| size_name(kb)).collect();
    Err(invalid(
        format!("{F}[{index}].pageSize"),
        format!(
            "{size:?} is not a huge page size of this host (it has: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ),
    ))
}

/// The kernel's name for a page size in kB (hugetlb_cgroup: GB, MB or KB).
pub(super) fn size_name(kb: u64) -> String {
    if kb >= 1 << 20 {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    }
}

pub(super) fn set_v1(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    set(dir, limits, "limit_in_bytes", |l| l.to_string())
}

pub(super) fn set_v2(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    set(dir, limits, "max", |l| {
        if l == -1 {
            "max".to_string()
        } else {
            l.to_string()
        }
    })
}

fn set(
    dir: &Path,
    limits: &[LinuxHugepageLimit],
    suffix: &str,
    value: fn(i64) -> String,
) -> Result<()> {
    for (i, l) in limits.iter().enumerate() {
        check_host_size(i, l.page_size())?;
        // Normalise "2048KB" to the kernel's "2MB".
        let name = size_name(size_kb(l.page_size()).unwrap_or(0));
        let v = value(l.limit());
        let field = format!("{F}[{i}].limit");
        file::write(dir, &format!("hugetlb.{name}.{suffix}"), &v, &field)?;
        let rsvd = format!("hugetlb.{name}.rsvd.{suffix}");
        if file::exists(dir, &rsvd) {
            file::write(dir, &rsvd, &v, &field)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/hugetlb.rs"]
mod tests;
