//! `process.user`: supplementary groups, gid, uid, umask; and HOME.

use super::{ProcessError, Result};

pub fn set_ids(user: &oci_spec::runtime::User, setgroups_allowed: bool) -> Result<()> {
    let gids: Vec<libc::gid_t> = user.additional_gids().clone().unwrap_or_default();
    if setgroups_allowed {
        // SAFETY: setgroups with a pointer/length pair from a live Vec.
        if unsafe { libc::setgroups(gids.len(), gids.as_ptr()) } != 0 {
            return Err(ProcessError::Sys {
                what: format!("process.user.additionalGids: setgroups {gids:?}"),
                source: std::io::Error::last_os_error(),
            });
        }
    } else if !gids.is_empty() {
        return Err(ProcessError::Config {
            field: "process.user.additionalGids".into(),
            msg: "setgroups is denied in this user namespace".into(),
        });
    }
    // SAFETY: setresgid/setresuid with plain integers.
    if unsafe { libc::setresgid(user.gid(), user.gid(), user.gid()) } != 0 {
        return Err(ProcessError::Sys {
            what: format!("process.user.gid: setgid {}", user.gid()),
            source: std::io::Error::last_os_error(),
        });
    }
    // SAFETY: as above.
    if unsafe { libc::setresuid(user.uid(), user.uid(), user.uid()) } != 0 {
        return Err(ProcessError::Sys {
            what: format!("process.user.uid: setuid {}", user.uid()),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

pub fn set_umask(user: &oci_spec::runtime::User) {
    // runc's default umask is 0022.
    let mask = user.umask().unwrap_or(0o022);
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// Whether `/proc/self/setgroups` allows setgroups(2) (a user namespace may deny it).
pub fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").map_or(true, |s| s.trim() != "deny")
}

/// The home directory of `uid` from the container's /etc/passwd, as runc sets HOME
/// when the config does not.
pub fn home_of(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[5].to_string())
        })
        .next()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "/".to_string())
}
