//! `linux.resources.network`: v1 net_cls (`classID`) and net_prio (`priorities`).
//! cgroup v2 has neither (packets are matched by cgroup path instead).

use super::file::{self, invalid};
use super::Result;
use oci_spec::runtime::LinuxNetwork;
use std::path::Path;

const F: &str = "linux.resources.network";

/// (controller, field) pairs the config asks for.
pub(super) fn wanted(n: &LinuxNetwork) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if n.class_id().is_some() {
        out.push(("net_cls", format!("{F}.classID")));
    }
    if !n.priorities().as_deref().unwrap_or(&[]).is_empty() {
        out.push(("net_prio", format!("{F}.priorities")));
    }
    out
}

pub(super) fn validate(n: &LinuxNetwork) -> Result<()> {
    for (i, p) in n.priorities().iter().flatten().enumerate() {
        let name = p.name();
        if name.is_empty()
            || name.len() > 15
            || name.contains(|c: char| c.is_whitespace() || c == '/')
        {
            return Err(invalid(
                format!("{F}.priorities[{i}].name"),
                format!("{name:?} is not an interface name"),
            ));
        }
    }
    Ok(())
}

pub(super) fn set_class_id(dir: &Path, n: &LinuxNetwork) -> Result<()> {
    match n.class_id() {
        Some(id) => file::write(
            dir,
            "net_cls.classid",
            &id.to_string(),
            &format!("{F}.classID"),
        ),
        None => Ok(()),
    }
}

/// One write per interface: net_prio.ifpriomap takes a single "name prio" pair per write.
pub(super) fn set_priorities(dir: &Path, n: &LinuxNetwork) -> Result<()> {
    for (i, p) in n.priorities().iter().flatten().enumerate() {
        file::write(
            dir,
            "net_prio.ifpriomap",
            &ifpriomap_line(p.name(), p.priority()),
            &format!("{F}.priorities[{i}]"),
        )?;
    }
    Ok(())
}

pub(super) fn ifpriomap_line(name: &str, priority: u32) -> String {
    format!("{name} {priority}")
}

#[cfg(test)]
#[path = "tests/network.rs"]
mod tests;
