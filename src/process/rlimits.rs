//! `process.rlimits`: setrlimit for the container process.

use super::{ProcessError, Result};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

fn resource(t: PosixRlimitType) -> Option<libc::__rlimit_resource_t> {
    use PosixRlimitType::*;
    Some(match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

pub fn apply(rlimits: &[PosixRlimit]) -> Result<()> {
    for (i, r) in rlimits.iter().enumerate() {
        let name = crate::spec::rlimit_name(r.typ());
        let field = format!("process.rlimits[{i}]");
        let res = resource(r.typ()).ok_or_else(|| ProcessError::Config {
            field: field.clone(),
            msg: format!("{name} is not supported on Linux"),
        })?;
        let lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit with a valid rlimit struct.
        if unsafe { libc::setrlimit(res, &lim) } != 0 {
            let err = std::io::Error::last_os_error();
            let hint = if err.raw_os_error() == Some(libc::EPERM) {
                " (raising a hard limit above the caller's needs CAP_SYS_RESOURCE)"
            } else {
                ""
            };
            return Err(ProcessError::Sys {
                what: format!(
                    "{field}: error setting rlimit {name} (type {res}) to soft={} hard={}{hint}",
                    r.soft(),
                    r.hard()
                ),
                source: err,
            });
        }
    }
    Ok(())
}
