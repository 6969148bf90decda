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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lines_and_validation() {
        assert_eq!(ifpriomap_line("eth0", 500), "eth0 500");
        let n: LinuxNetwork = serde_json::from_value(json!({"classID": 1048577,
            "priorities": [{"name": "eth0", "priority": 500}, {"name": "bad name", "priority": 1}]}))
        .unwrap();
        let e = validate(&n).unwrap_err().to_string();
        assert!(
            e.starts_with("linux.resources.network.priorities[1].name:"),
            "{e}"
        );
        let w = wanted(&n);
        assert_eq!(
            w[0],
            ("net_cls", "linux.resources.network.classID".to_string())
        );
        assert_eq!(w[1].0, "net_prio");
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("net_cls.classid"), "0").unwrap();
        set_class_id(d.path(), &n).unwrap();
        assert_eq!(file::read(d.path(), "net_cls.classid").unwrap(), "1048577");
    }
}
