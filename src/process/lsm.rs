//! Linux security modules: AppArmor profiles (applied on exec) and SELinux labels.

use super::{ProcessError, Result};

pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Makes the next execve switch to the AppArmor profile `profile`.
pub fn apparmor_exec(profile: &str) -> Result<()> {
    let attr = if std::path::Path::new("/proc/self/attr/apparmor/exec").exists() {
        "/proc/self/attr/apparmor/exec"
    } else {
        "/proc/self/attr/exec"
    };
    std::fs::write(attr, format!("exec {profile}")).map_err(|source| ProcessError::Sys {
        what: format!("process.apparmorProfile: set profile {profile:?} via {attr}"),
        source,
    })
}
