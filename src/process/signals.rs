//! Signal names and masks.

/// Parses a signal as runc does: a number (`9`), a name (`KILL`, `SIGKILL`, `kill`).
pub fn parse(sig: &str) -> Option<i32> {
    if let Ok(n) = sig.parse::<i32>() {
        return (1..=64).contains(&n).then_some(n);
    }
    let upper = sig.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    let n = match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ILL" => libc::SIGILL,
        "TRAP" => libc::SIGTRAP,
        "ABRT" | "IOT" => libc::SIGABRT,
        "BUS" => libc::SIGBUS,
        "FPE" => libc::SIGFPE,
        "KILL" => libc::SIGKILL,
        "USR1" => libc::SIGUSR1,
        "SEGV" => libc::SIGSEGV,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "ALRM" => libc::SIGALRM,
        "TERM" => libc::SIGTERM,
        "STKFLT" => libc::SIGSTKFLT,
        "CHLD" | "CLD" => libc::SIGCHLD,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TSTP" => libc::SIGTSTP,
        "TTIN" => libc::SIGTTIN,
        "TTOU" => libc::SIGTTOU,
        "URG" => libc::SIGURG,
        "XCPU" => libc::SIGXCPU,
        "XFSZ" => libc::SIGXFSZ,
        "VTALRM" => libc::SIGVTALRM,
        "PROF" => libc::SIGPROF,
        "WINCH" => libc::SIGWINCH,
        "IO" | "POLL" => libc::SIGIO,
        "PWR" => libc::SIGPWR,
        "SYS" => libc::SIGSYS,
        _ => return parse_rt(name),
    };
    Some(n)
}

/// RTMIN, RTMIN+N, RTMAX-N.
fn parse_rt(name: &str) -> Option<i32> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    let n = if name == "RTMIN" {
        min
    } else if name == "RTMAX" {
        max
    } else if let Some(k) = name.strip_prefix("RTMIN+") {
        min + k.parse::<i32>().ok()?
    } else if let Some(k) = name.strip_prefix("RTMAX-") {
        max - k.parse::<i32>().ok()?
    } else {
        return None;
    };
    (min..=max).contains(&n).then_some(n)
}

/// Blocks every signal for this (single) thread, returning the previous mask. `run`
/// does this before the clone so that signals queue up for its signalfd.
pub fn block_all() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigfillset/sigprocmask get valid pointers.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, &mut old);
        old
    }
}

pub fn set_mask(mask: &libc::sigset_t) {
    // SAFETY: valid pointer to an initialized sigset_t.
    unsafe {
        libc::sigprocmask(libc::SIG_SETMASK, mask, std::ptr::null_mut());
    }
}

/// Gives the container process the signal state a freshly started program expects: no
/// blocked signals and default dispositions. Ignored signals survive execve, and the
/// Rust runtime ignores SIGPIPE, so without this every container would ignore it.
pub fn reset_for_exec() {
    // SAFETY: resetting dispositions to SIG_DFL and clearing the mask has no memory-safety
    // preconditions; SIGKILL/SIGSTOP fail harmlessly.
    unsafe {
        for sig in 1..libc::SIGRTMAX() {
            libc::signal(sig, libc::SIG_DFL);
        }
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("9"), Some(9));
        assert_eq!(parse("KILL"), Some(9));
        assert_eq!(parse("SIGKILL"), Some(9));
        assert_eq!(parse("term"), Some(15));
        assert_eq!(parse("SIGRTMIN+1"), Some(libc::SIGRTMIN() + 1));
        assert_eq!(parse("0"), None);
        assert_eq!(parse("65"), None);
        assert_eq!(parse("NOPE"), None);
    }
}
