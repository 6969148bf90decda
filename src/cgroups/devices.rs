//! Device access rules (`linux.resources.devices`) and their v1 `devices.allow`/`deny` form.

use super::{io_err, Result};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a' (all), 'c' or 'b'.
    pub typ: char,
    /// None = any (`*`).
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

impl DeviceRule {
    const fn char_dev(
        major: i64,
        minor: Option<i64>,
        access: &'static str,
    ) -> (char, Option<i64>, Option<i64>, &'static str) {
        ('c', Some(major), minor, access)
    }

    pub fn from_spec(rule: &oci_spec::runtime::LinuxDeviceCgroup) -> DeviceRule {
        use oci_spec::runtime::LinuxDeviceType as T;
        let typ = match rule.typ() {
            None | Some(T::A) => 'a',
            Some(T::B) => 'b',
            Some(_) => 'c',
        };
        DeviceRule {
            allow: rule.allow(),
            typ,
            major: rule.major(),
            minor: rule.minor(),
            access: rule
                .access()
                .clone()
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| "rwm".into()),
        }
    }

    /// The v1 line: `c 1:3 rwm`, `a`, `c *:* m`.
    pub fn v1_line(&self) -> String {
        if self.typ == 'a' {
            return "a".into();
        }
        let num = |n: Option<i64>| n.map_or("*".to_string(), |n| n.to_string());
        format!(
            "{} {}:{} {}",
            self.typ,
            num(self.major),
            num(self.minor),
            self.access
        )
    }

    fn is_deny_all(&self) -> bool {
        !self.allow && self.typ == 'a'
    }
}

/// Devices every container may use, appended after the config's rules as runc does
/// (podman and containerd send only a deny-all rule and rely on these).
pub fn default_rules() -> Vec<DeviceRule> {
    let table = [
        ('c', None, None, "m"),
        ('b', None, None, "m"),
        DeviceRule::char_dev(1, Some(3), "rwm"), // null
        DeviceRule::char_dev(1, Some(8), "rwm"), // random
        DeviceRule::char_dev(1, Some(7), "rwm"), // full
        DeviceRule::char_dev(5, Some(0), "rwm"), // tty
        DeviceRule::char_dev(1, Some(5), "rwm"), // zero
        DeviceRule::char_dev(1, Some(9), "rwm"), // urandom
        DeviceRule::char_dev(5, Some(1), "rwm"), // console
        DeviceRule::char_dev(136, None, "rwm"),  // pts/*
        DeviceRule::char_dev(5, Some(2), "rwm"), // ptmx
    ];
    table
        .iter()
        .map(|&(typ, major, minor, access)| DeviceRule {
            allow: true,
            typ,
            major,
            minor,
            access: access.into(),
        })
        .collect()
}

pub fn apply_v1(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    for rule in rules {
        let file = if rule.allow {
            dir.join("devices.allow")
        } else {
            dir.join("devices.deny")
        };
        std::fs::write(&file, rule.v1_line()).map_err(io_err("write", &file))?;
        if rule.is_deny_all() {
            log::debug!("devices: deny all in {}", dir.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_lines() {
        let r = DeviceRule {
            allow: true,
            typ: 'c',
            major: Some(136),
            minor: None,
            access: "rwm".into(),
        };
        assert_eq!(r.v1_line(), "c 136:* rwm");
        let all = DeviceRule {
            allow: false,
            typ: 'a',
            major: None,
            minor: None,
            access: "rwm".into(),
        };
        assert_eq!(all.v1_line(), "a");
    }
}
