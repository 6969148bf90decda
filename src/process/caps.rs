//! The five capability sets of `process.capabilities`.
//!
//! Order matters: the bounding set is reduced first (needs CAP_SETPCAP), the sets are
//! kept across the uid change with PR_SET_KEEPCAPS, and effective, permitted and
//! inheritable are then set in one capset(2). Inheritable and ambient stay empty unless
//! the config lists them (CVE-2022-29162 gave processes inheritable caps nobody asked for).

use super::{last_err, ProcessError, Result};
use oci_spec::runtime::{Capabilities, LinuxCapabilities};

/// Capability sets as bit masks, resolved from the config's names.
#[derive(Debug, Default, Clone)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

fn cap_index(cap: &oci_spec::runtime::Capability) -> Result<u32> {
    // The config names capabilities as "CAP_..."; serde gives us that spelling back.
    let name = serde_json::to_value(cap)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let parsed: caps::Capability = name.parse().map_err(|_| ProcessError::Config {
        field: "process.capabilities".into(),
        msg: format!("unknown capability {name}"),
    })?;
    Ok(parsed.index() as u32)
}

fn mask(set: &Option<Capabilities>) -> Result<u64> {
    let mut m = 0u64;
    for cap in set.iter().flatten() {
        m |= 1 << cap_index(cap)?;
    }
    Ok(m)
}

impl CapSets {
    pub fn from_spec(caps: Option<&LinuxCapabilities>) -> Result<CapSets> {
        let Some(c) = caps else {
            return Ok(CapSets::default());
        };
        Ok(CapSets {
            bounding: mask(c.bounding())?,
            effective: mask(c.effective())?,
            permitted: mask(c.permitted())?,
            inheritable: mask(c.inheritable())?,
            ambient: mask(c.ambient())?,
        })
    }
}

/// The highest capability the running kernel knows.
pub fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Drops every capability outside `sets.bounding` from the bounding set.
pub fn apply_bounding(sets: &CapSets) -> Result<()> {
    for cap in 0..=last_cap() {
        if sets.bounding & (1 << cap) == 0 {
            // SAFETY: prctl with integer arguments only.
            if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } != 0 {
                let err = std::io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EINVAL) {
                    continue; // not supported by this kernel
                }
                return Err(ProcessError::Sys {
                    what: format!("process.capabilities.bounding: drop capability {cap}"),
                    source: err,
                });
            }
        }
    }
    Ok(())
}

pub fn set_keep_caps(keep: bool) -> Result<()> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, keep as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(last_err("prctl(PR_SET_KEEPCAPS)"));
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Makes every permitted capability effective again. A uid change away from 0 clears the
/// effective set even with PR_SET_KEEPCAPS; loading a seccomp filter without
/// no_new_privs needs CAP_SYS_ADMIN effective.
pub fn raise_effective() -> Result<()> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget/capset with a v3 header and a two-element data array.
    unsafe {
        if libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        ) != 0
        {
            return Err(last_err("capget"));
        }
        for d in &mut data {
            d.effective = d.permitted;
        }
        if libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        ) != 0
        {
            return Err(last_err("raise effective capabilities"));
        }
    }
    Ok(())
}

/// Sets effective, permitted and inheritable at once, then raises the ambient set.
pub fn apply_final(sets: &CapSets) -> Result<()> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let split = |m: u64| [(m & 0xffff_ffff) as u32, (m >> 32) as u32];
    let (e, p, i) = (
        split(sets.effective),
        split(sets.permitted),
        split(sets.inheritable),
    );
    let data = [
        CapData {
            effective: e[0],
            permitted: p[0],
            inheritable: i[0],
        },
        CapData {
            effective: e[1],
            permitted: p[1],
            inheritable: i[1],
        },
    ];
    // SAFETY: capset with a v3 header and the two-element data array it requires.
    if unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    } != 0
    {
        let err = std::io::Error::last_os_error();
        let why = if sets.effective & !sets.permitted != 0 {
            " (effective capabilities must also be permitted)"
        } else {
            ""
        };
        return Err(ProcessError::Sys {
            what: format!("unable to apply capabilities{why}"),
            source: err,
        });
    }
    for cap in 0..=last_cap() {
        if sets.ambient & (1 << cap) != 0 {
            // SAFETY: prctl with integer arguments only.
            let r = unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                    cap as libc::c_ulong,
                    0,
                    0,
                )
            };
            if r != 0 {
                // runc ignores this too: the kernel raises an ambient capability only if it
                // is also permitted and inheritable, which configs often do not ask for.
                log::warn!(
                    "process.capabilities.ambient: cannot raise capability {cap} (it must be permitted and inheritable): {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
    Ok(())
}
