//! Scheduling-related process attributes: `process.ioPriority` and `linux.personality`.

use super::{ProcessError, Result};
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxPersonality, LinuxPersonalityDomain,
};

const IOPRIO_WHO_PROCESS: libc::c_int = 1;
const IOPRIO_CLASS_SHIFT: u32 = 13;

/// ioprio_set(2) for the calling process (inherited by the container process).
pub fn set_io_priority(prio: &LinuxIOPriority) -> Result<()> {
    let class: u32 = match prio.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&prio.priority()) {
        return Err(ProcessError::Config {
            field: "process.ioPriority.priority".into(),
            msg: format!("{} is outside 0..7", prio.priority()),
        });
    }
    let value = (class << IOPRIO_CLASS_SHIFT) | prio.priority() as u32;
    // SAFETY: ioprio_set with integer arguments only.
    if unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) } != 0 {
        return Err(ProcessError::Sys {
            what: format!(
                "process.ioPriority: ioprio_set class {class} priority {}",
                prio.priority()
            ),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// personality(2): LINUX or LINUX32 (uname -m reports i686 for the latter). The spec
/// defines no personality flags yet; any given is an error rather than ignored.
pub fn set_personality(p: &LinuxPersonality) -> Result<()> {
    if let Some(flag) = p.flags().as_ref().and_then(|f| f.first()) {
        return Err(ProcessError::Config {
            field: "linux.personality.flags".into(),
            msg: format!("unknown personality flag {flag:?}"),
        });
    }
    let persona: libc::c_ulong = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    // SAFETY: personality with an integer argument only.
    if unsafe { libc::personality(persona) } < 0 {
        return Err(ProcessError::Sys {
            what: format!("linux.personality: personality({persona:#x})"),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}
