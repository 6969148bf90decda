//! `linux.resources` as a whole: check every value, make sure each controller the config
//! asks something of is available to the container's cgroup, then write controller by
//! controller. All of it happens before the init is cloned; on error `create` removes
//! the cgroup and the state dir, so a half-applied configuration never runs anything.

use super::{
    blkio, cpu, cpuset, devices, hugetlb, memory, network, pids, rdma, unified, v1, CgroupError,
    CgroupPaths, DeviceRule, Result,
};
use oci_spec::runtime::LinuxResources;
use std::path::Path;

/// Checks the values that can be checked without looking at the host: ranges, list
/// syntax, combinations the kernel would refuse, unified keys that leave the cgroup.
pub fn validate_resources(r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        memory::validate(m)?;
    }
    if let Some(c) = r.cpu() {
        cpu::validate(c)?;
        cpuset::validate(c)?;
    }
    if let Some(b) = r.block_io() {
        blkio::validate(b)?;
    }
    if let Some(h) = r.hugepage_limits() {
        hugetlb::validate(h)?;
    }
    if let Some(n) = r.network() {
        network::validate(n)?;
    }
    if let Some(map) = r.rdma() {
        rdma::validate(map)?;
    }
    if let Some(map) = r.unified() {
        unified::validate(map)?;
    }
    Ok(())
}

/// Applies the device rules (the config's, then skiff's defaults) and every other
/// resource limit of the config to the container's (already created, still empty)
/// cgroup.
pub fn apply_resources(
    paths: &CgroupPaths,
    resources: Option<&LinuxResources>,
    device_rules: &[DeviceRule],
) -> Result<()> {
    let none = LinuxResources::default();
    let r = resources.unwrap_or(&none);
    validate_resources(r)?;
    match paths {
        CgroupPaths::None => Ok(()),
        CgroupPaths::V1 { .. } => apply_v1(paths, r, device_rules),
        CgroupPaths::V2 { dir } => apply_v2(&dir.path, r, device_rules),
    }
}

/// (controller, config field) for everything the config asks of a controller.
/// Controller names are v1's; v2 calls blkio `io`.
fn wanted(r: &LinuxResources) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut add = |ctrl, field: Option<String>| {
        if let Some(f) = field {
            out.push((ctrl, f));
        }
    };
    add("memory", r.memory().as_ref().and_then(memory::wanted));
    add("cpu", r.cpu().as_ref().and_then(cpu::wanted));
    add("cpuset", r.cpu().as_ref().and_then(cpuset::wanted));
    add("pids", r.pids().as_ref().and_then(pids::wanted));
    add("blkio", r.block_io().as_ref().and_then(blkio::wanted));
    add(
        "hugetlb",
        r.hugepage_limits().as_deref().and_then(hugetlb::wanted),
    );
    add("rdma", r.rdma().as_ref().and_then(rdma::wanted));
    if let Some(n) = r.network() {
        out.extend(network::wanted(n));
    }
    out
}

fn apply_v1(paths: &CgroupPaths, r: &LinuxResources, device_rules: &[DeviceRule]) -> Result<()> {
    if let Some(field) = r.unified().as_ref().and_then(unified::first_key) {
        return Err(CgroupError::Unsupported {
            field,
            msg: "cgroup v2 files cannot be set: this host's cgroups are v1".into(),
        });
    }
    // Every controller asked for must have a hierarchy before anything is written.
    for (ctrl, field) in wanted(r) {
        if paths.dir_for(ctrl).is_none() {
            return Err(CgroupError::Unavailable {
                field,
                controller: ctrl.to_string(),
                why: v1::why_unavailable(ctrl),
            });
        }
    }
    let dir = |ctrl: &str| paths.dir_for(ctrl);
    if let Some(d) = dir("devices") {
        devices::apply_v1(d, device_rules)?;
    }
    // The checks above guarantee a directory for every controller that is asked
    // something; `wanted` is false for the others, whose sections write nothing.
    if let (Some(d), Some(m)) = (dir("memory"), r.memory()) {
        memory::set_v1(d, m)?;
    }
    if let Some(c) = r.cpu() {
        if let Some(d) = dir("cpu") {
            cpu::set_v1(d, c)?;
        }
        if let Some(d) = dir("cpuset") {
            cpuset::set(d, c)?;
        }
    }
    if let (Some(d), Some(p)) = (dir("pids"), r.pids()) {
        pids::set(d, p)?;
    }
    if let (Some(d), Some(b)) = (dir("blkio"), r.block_io()) {
        blkio::set_v1(d, b)?;
    }
    if let (Some(d), Some(h)) = (dir("hugetlb"), r.hugepage_limits()) {
        hugetlb::set_v1(d, h)?;
    }
    if let Some(n) = r.network() {
        if let Some(d) = dir("net_cls") {
            network::set_class_id(d, n)?;
        }
        if let Some(d) = dir("net_prio") {
            network::set_priorities(d, n)?;
        }
    }
    if let (Some(d), Some(map)) = (dir("rdma"), r.rdma()) {
        rdma::set(d, map)?;
    }
    Ok(())
}

fn apply_v2(dir: &Path, r: &LinuxResources, device_rules: &[DeviceRule]) -> Result<()> {
    if !device_rules.is_empty() {
        return Err(CgroupError::Unsupported {
            field: "linux.resources.devices".into(),
            msg: "device control on cgroup v2 (eBPF) is not supported by skiff yet".into(),
        });
    }
    if let Some((_, field)) = r
        .network()
        .as_ref()
        .map(network::wanted)
        .and_then(|w| w.into_iter().next())
    {
        return Err(CgroupError::Invalid {
            field,
            msg: "net_cls and net_prio have no cgroup v2 equivalent".into(),
        });
    }
    let controllers = super::v2::controllers(dir)?;
    for (ctrl, field) in wanted(r) {
        let ctrl = if ctrl == "blkio" { "io" } else { ctrl };
        if !controllers.iter().any(|c| c == ctrl) {
            return Err(CgroupError::Unavailable {
                field,
                controller: ctrl.to_string(),
                why: format!(
                    "not in the cgroup's cgroup.controllers ({})",
                    controllers.join(" ")
                ),
            });
        }
    }
    // runc's order: pids, memory, io, cpu, cpuset, hugetlb, rdma, then unified.
    if let Some(p) = r.pids() {
        pids::set(dir, p)?;
    }
    if let Some(m) = r.memory() {
        memory::set_v2(dir, m)?;
    }
    if let Some(b) = r.block_io() {
        blkio::set_v2(dir, b)?;
    }
    if let Some(c) = r.cpu() {
        cpu::set_v2(dir, c)?;
        cpuset::set(dir, c)?;
    }
    if let Some(h) = r.hugepage_limits() {
        hugetlb::set_v2(dir, h)?;
    }
    if let Some(map) = r.rdma() {
        rdma::set(dir, map)?;
    }
    if let Some(map) = r.unified() {
        unified::set_v2(dir, map, &controllers)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/resources.rs"]
mod tests;
