//! `linux.resources.cpu.cpus` / `.mems`: the cpuset controller. Same files on v1 and v2.

use super::file::{self, invalid};
use super::Result;
use oci_spec::runtime::LinuxCpu;
use std::path::Path;

const F: &str = "linux.resources.cpu";

fn lists(c: &LinuxCpu) -> [(&'static str, &'static str, Option<&str>); 2] {
    [
        (
            "cpus",
            "cpuset.cpus",
            c.cpus().as_deref().filter(|s| !s.is_empty()),
        ),
        (
            "mems",
            "cpuset.mems",
            c.mems().as_deref().filter(|s| !s.is_empty()),
        ),
    ]
}

pub(super) fn wanted(c: &LinuxCpu) -> Option<String> {
    lists(c)
        .iter()
        .find(|(_, _, v)| v.is_some())
        .map(|(name, _, _)| format!("{F}.{name}"))
}

pub(super) fn validate(c: &LinuxCpu) -> Result<()> {
    for (name, _, value) in lists(c) {
        if let Some(v) = value {
            if !is_list(v) {
                return Err(invalid(
                    format!("{F}.{name}"),
                    format!("{v:?} is not a list like \"0-3,5\""),
                ));
            }
        }
    }
    Ok(())
}

/// Writes cpus and mems. A list the parent does not have is refused (EINVAL, or ERANGE
/// beyond the machine's CPUs): the error then shows the parent's list.
pub(super) fn set(dir: &Path, c: &LinuxCpu) -> Result<()> {
    for (name, file, value) in lists(c) {
        let Some(value) = value else { continue };
        file::write(dir, file, value, &format!("{F}.{name}")).map_err(|e| {
            e.hint_on(&[libc::EINVAL, libc::ERANGE], || {
                let parent = dir.parent().and_then(|p| file::read(p, file).ok());
                format!(
                    "the parent cgroup allows only {:?}",
                    parent.unwrap_or_default()
                )
            })
        })?;
    }
    Ok(())
}

/// The kernel's list syntax (bitmap_parselist): comma-separated `N`, `N-M` or
/// `N-M:used/group`, with N <= M.
pub(super) fn is_list(s: &str) -> bool {
    fn num(s: &str) -> Option<u32> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    }
    s.split(',').all(|item| {
        let (range, stride) = match item.split_once(':') {
            Some((r, st)) => (r, Some(st)),
            None => (item, None),
        };
        let ok_range = match range.split_once('-') {
            Some((a, b)) => matches!((num(a), num(b)), (Some(a), Some(b)) if a <= b),
            None => num(range).is_some() && stride.is_none(),
        };
        let ok_stride = stride.is_none_or(|st| {
            let (used, group) = st.split_once('/').unwrap_or(("", ""));
            matches!((num(used), num(group)), (Some(u), Some(g)) if u > 0 && u <= g)
        });
        ok_range && ok_stride
    })
}

#[cfg(test)]
#[path = "tests/cpuset.rs"]
mod tests;
