//! `linux.resources.rdma`: rdma.max, the same file on v1 and v2.

use super::file::{self, invalid};
use super::Result;
use oci_spec::runtime::LinuxRdma;
use std::collections::HashMap;
use std::path::Path;

const F: &str = "linux.resources.rdma";

/// Devices in name order, so errors and writes do not depend on hash order.
fn sorted(map: &HashMap<String, LinuxRdma>) -> Vec<(&String, &LinuxRdma)> {
    let mut v: Vec<_> = map.iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

pub(super) fn wanted(map: &HashMap<String, LinuxRdma>) -> Option<String> {
    sorted(map).first().map(|(dev, _)| format!("{F}.{dev}"))
}

pub(super) fn validate(map: &HashMap<String, LinuxRdma>) -> Result<()> {
    for (dev, l) in sorted(map) {
        let field = format!("{F}.{dev}");
        if dev.is_empty() || dev.contains(|c: char| c.is_whitespace()) {
            return Err(invalid(field, "not a device name"));
        }
        if l.hca_handles().is_none() && l.hca_objects().is_none() {
            return Err(invalid(field, "needs hcaHandles or hcaObjects"));
        }
    }
    Ok(())
}

pub(super) fn set(dir: &Path, map: &HashMap<String, LinuxRdma>) -> Result<()> {
    for (dev, l) in sorted(map) {
        let line = rdma_line(dev, l.hca_handles(), l.hca_objects());
        file::write(dir, "rdma.max", &line, &format!("{F}.{dev}"))?;
    }
    Ok(())
}

/// "mlx5_1 hca_handle=3 hca_object=10000", leaving out what is not set.
pub(super) fn rdma_line(dev: &str, handles: Option<u32>, objects: Option<u32>) -> String {
    let mut line = dev.to_string();
    if let Some(h) = handles {
        line.push_str(&format!(" hca_handle={h}"));
    }
    if let Some(o) = objects {
        line.push_str(&format!(" hca_object={o}"));
    }
    line
}

#[cfg(test)]
#[path = "tests/rdma.rs"]
mod tests;
