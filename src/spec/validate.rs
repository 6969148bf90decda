//! Semantic checks of the runtime-spec that types alone do not express.

use super::{invalid, Result, Spec};
use oci_spec::runtime::{LinuxNamespaceType, PosixRlimitType};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Validates `spec` for a bundle in `bundle_dir`; returns the absolute rootfs path.
pub fn validate(spec: &Spec, bundle_dir: &Path) -> Result<PathBuf> {
    check_version(spec.version())?;
    let rootfs = check_root(spec, bundle_dir)?;
    let namespaces = check_namespaces(spec)?;
    if let Some(process) = spec.process() {
        check_process(process)?;
    }
    check_hostname(spec, &namespaces)?;
    check_mounts(spec)?;
    if let Some(linux) = spec.linux() {
        check_paths("linux.maskedPaths", linux.masked_paths())?;
        check_paths("linux.readonlyPaths", linux.readonly_paths())?;
        check_devices(linux.devices())?;
        if let Some(sysctl) = linux.sysctl() {
            crate::rootfs::sysctl::validate(sysctl, linux.namespaces().as_deref().unwrap_or(&[]))?;
        }
        if let Some(p) = linux.rootfs_propagation() {
            crate::rootfs::options::root_propagation(p).ok_or_else(|| {
                invalid(
                    "linux.rootfsPropagation",
                    format!("unknown propagation {p:?}"),
                )
            })?;
        }
    }
    check_hooks(spec)?;
    Ok(rootfs)
}

fn check_version(version: &str) -> Result<()> {
    let major = version.split('.').next().unwrap_or("");
    if major != "1" || version.split('.').count() < 2 {
        return Err(invalid(
            "ociVersion",
            format!("{version:?} is not a runtime-spec 1.x version"),
        ));
    }
    Ok(())
}

fn check_root(spec: &Spec, bundle_dir: &Path) -> Result<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| invalid("root", "missing (required on Linux)"))?;
    if root.path().as_os_str().is_empty() {
        return Err(invalid("root.path", "empty"));
    }
    let path = bundle_dir.join(root.path());
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(path),
        Ok(_) => Err(invalid(
            "root.path",
            format!("{} is not a directory", path.display()),
        )),
        Err(e) => Err(invalid("root.path", format!("{}: {e}", path.display()))),
    }
}

/// The set of namespace types the container gets (new or joined).
pub type NamespaceSet = HashSet<LinuxNamespaceType>;

fn check_namespaces(spec: &Spec) -> Result<NamespaceSet> {
    let mut seen = NamespaceSet::new();
    let linux = spec.linux().as_ref();
    let list = linux.and_then(|l| l.namespaces().as_ref());
    for (i, ns) in list.into_iter().flatten().enumerate() {
        if !seen.insert(ns.typ()) {
            return Err(invalid(
                format!("linux.namespaces[{i}]"),
                format!("duplicate namespace type {}", ns.typ()),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() {
                return Err(invalid(
                    format!("linux.namespaces[{i}].path"),
                    format!("{} is not absolute", p.display()),
                ));
            }
        }
    }
    let user_ns = list
        .into_iter()
        .flatten()
        .find(|n| n.typ() == LinuxNamespaceType::User);
    let has_maps = linux.is_some_and(|l| {
        l.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
            || l.gid_mappings().as_ref().is_some_and(|m| !m.is_empty())
    });
    match user_ns {
        None if has_maps => {
            return Err(invalid(
                "linux.uidMappings",
                "user namespace mappings given, but no user namespace in linux.namespaces",
            ))
        }
        Some(ns) if ns.path().is_some() && has_maps => {
            return Err(invalid(
                "linux.uidMappings",
                "mappings cannot be set when joining an existing user namespace by path",
            ))
        }
        Some(ns) if ns.path().is_none() && !has_maps => {
            return Err(invalid(
                "linux.uidMappings",
                "a new user namespace needs uidMappings and gidMappings",
            ))
        }
        _ => {}
    }
    if let Some(l) = linux {
        for (field, maps) in [
            ("linux.uidMappings", l.uid_mappings()),
            ("linux.gidMappings", l.gid_mappings()),
        ] {
            for (i, m) in maps.iter().flatten().enumerate() {
                if m.size() == 0 {
                    return Err(invalid(
                        format!("{field}[{i}].size"),
                        "must be greater than 0",
                    ));
                }
            }
        }
        if l.time_offsets().as_ref().is_some_and(|t| !t.is_empty()) {
            let time_ns = list
                .into_iter()
                .flatten()
                .find(|n| n.typ() == LinuxNamespaceType::Time);
            match time_ns {
                None => {
                    return Err(invalid(
                        "linux.timeOffsets",
                        "needs a time namespace in linux.namespaces",
                    ))
                }
                Some(ns) if ns.path().is_some() => {
                    return Err(invalid(
                        "linux.timeOffsets",
                        "cannot be set when joining an existing time namespace",
                    ))
                }
                _ => {}
            }
            for key in l.time_offsets().iter().flat_map(|t| t.keys()) {
                if key != "monotonic" && key != "boottime" {
                    return Err(invalid(
                        format!("linux.timeOffsets.{key}"),
                        "only monotonic and boottime clocks can be offset",
                    ));
                }
            }
        }
    }
    Ok(seen)
}

fn check_process(process: &oci_spec::runtime::Process) -> Result<()> {
    match process.args() {
        Some(args) if !args.is_empty() => {}
        _ => {
            return Err(invalid(
                "process.args",
                "must contain at least the program to run",
            ))
        }
    }
    if !process.cwd().is_absolute() {
        return Err(invalid(
            "process.cwd",
            format!("{} is not an absolute path", process.cwd().display()),
        ));
    }
    for (i, env) in process.env().iter().flatten().enumerate() {
        if env.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
            return Err(invalid(
                format!("process.env[{i}]"),
                format!("{env:?} is not KEY=VALUE"),
            ));
        }
    }
    if let Some(umask) = process.user().umask() {
        if umask > 0o777 {
            return Err(invalid(
                "process.user.umask",
                format!("{umask:#o} is larger than 0777"),
            ));
        }
    }
    if let Some(adj) = process.oom_score_adj() {
        if !(-1000..=1000).contains(&adj) {
            return Err(invalid(
                "process.oomScoreAdj",
                format!("{adj} is outside -1000..1000"),
            ));
        }
    }
    let mut types = HashSet::new();
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        if !types.insert(rlimit_name(r.typ())) {
            return Err(invalid(
                format!("process.rlimits[{i}].type"),
                format!("duplicate rlimit {}", rlimit_name(r.typ())),
            ));
        }
        if r.soft() > r.hard() {
            return Err(invalid(
                format!("process.rlimits[{i}]"),
                format!("soft limit {} exceeds hard limit {}", r.soft(), r.hard()),
            ));
        }
    }
    if let Some(profile) = process.apparmor_profile() {
        if !profile.is_empty() && !crate::process::lsm::apparmor_enabled() {
            return Err(invalid(
                "process.apparmorProfile",
                "AppArmor is not enabled on this host",
            ));
        }
    }
    Ok(())
}

/// The config's name of an rlimit type ("RLIMIT_NOFILE").
pub fn rlimit_name(t: PosixRlimitType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{t:?}"))
}

fn check_hostname(spec: &Spec, namespaces: &NamespaceSet) -> Result<()> {
    for (field, value) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if value.as_ref().is_some_and(|h| !h.is_empty())
            && !namespaces.contains(&LinuxNamespaceType::Uts)
        {
            return Err(invalid(
                field,
                "setting it needs a uts namespace in linux.namespaces",
            ));
        }
    }
    Ok(())
}

fn check_mounts(spec: &Spec) -> Result<()> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        crate::rootfs::options::parse(m).map_err(|msg| invalid(format!("mounts[{i}]"), msg))?;
    }
    Ok(())
}

fn check_paths(field: &str, paths: &Option<Vec<String>>) -> Result<()> {
    for (i, p) in paths.iter().flatten().enumerate() {
        if !p.starts_with('/') {
            return Err(invalid(
                format!("{field}[{i}]"),
                format!("{p:?} is not an absolute path"),
            ));
        }
    }
    Ok(())
}

fn check_devices(devices: &Option<Vec<oci_spec::runtime::LinuxDevice>>) -> Result<()> {
    use oci_spec::runtime::LinuxDeviceType;
    for (i, d) in devices.iter().flatten().enumerate() {
        let field = format!("linux.devices[{i}]");
        if !d.path().starts_with("/dev/") {
            return Err(invalid(
                format!("{field}.path"),
                format!("{} is not under /dev", d.path().display()),
            ));
        }
        match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::B | LinuxDeviceType::U | LinuxDeviceType::P => {}
            other => {
                return Err(invalid(
                    format!("{field}.type"),
                    format!("{other:?} is not one of c, b, u, p"),
                ))
            }
        }
        if d.typ() != LinuxDeviceType::P && (d.major() < 0 || d.minor() < 0) {
            return Err(invalid(
                field,
                "major and minor must be given for c, b and u devices",
            ));
        }
    }
    Ok(())
}

fn check_hooks(spec: &Spec) -> Result<()> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    for (name, list) in crate::hooks::all(hooks) {
        for (i, h) in list.iter().enumerate() {
            if !h.path().is_absolute() {
                return Err(invalid(
                    format!("hooks.{name}[{i}].path"),
                    format!("{} is not absolute", h.path().display()),
                ));
            }
            if h.timeout().is_some_and(|t| t <= 0) {
                return Err(invalid(
                    format!("hooks.{name}[{i}].timeout"),
                    "must be greater than zero",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_must_be_1x() {
        assert!(check_version("1.0.2-dev").is_ok());
        assert!(check_version("1.3.0").is_ok());
        assert!(check_version("2.0.0").is_err());
        assert!(check_version("").is_err());
    }
}
