//! Seccomp filters (`linux.seccomp`): the profile is compiled to a classic-BPF program
//! here, without libseccomp, and installed with seccomp(2) by the container's init.
//!
//! [`compile`] is pure and validates the whole profile, so every error names its
//! config field before anything runs; [`Filter::install`] is the only syscall.
//!
//! Semantics follow runc (which drives libseccomp):
//! - Actions: SCMP_ACT_KILL (= KILL_THREAD), KILL_THREAD, KILL_PROCESS, TRAP,
//!   ERRNO(errnoRet, default EPERM), TRACE(errnoRet, default EPERM), ALLOW, LOG,
//!   NOTIFY. `errnoRet` on any other action is an error, as is NOTIFY as the default
//!   action or on `write` (runc: the init must still be able to write after loading).
//! - Architectures: the native one (x86_64) is always in the filter, as libseccomp's
//!   `seccomp_init` puts it there and runc never removes it; SCMP_ARCH_X86 and
//!   SCMP_ARCH_X32 add sections. Other valid architecture names add nothing (their
//!   processes cannot run here). Any other audit arch, or an x32 number when x32 is
//!   not listed, gets SECCOMP_RET_KILL_PROCESS.
//! - Names: a name missing on one ABI but known elsewhere is skipped there (libseccomp
//!   does the same, e.g. `arch_prctl` on i386); a name known nowhere is an error.
//! - Rules whose action equals the default action are dropped (runc does so). The
//!   remaining rules for one syscall are tried in profile order and the first whose
//!   conditions all hold decides; an unconditional rule shadows later ones. libseccomp
//!   merges them into a decision tree instead; both agree unless rules for the same
//!   syscall with different actions overlap.
//! - Args in one rule are ANDed, except that, like runc, a rule naming the same
//!   argument index twice is split into one rule per condition (ORed).
//!   Comparisons are 64-bit on x86_64; on i386 and x32 only the low 32 bits are
//!   compared (libseccomp treats both as 32-bit architectures).
//! - runc's -ENOSYS stub: unless the default action is ALLOW, LOG or TRACE, syscall
//!   numbers above the largest one the profile names (per listed ABI) return ENOSYS,
//!   so that libcs fall back from syscalls newer than the profile (e.g. clone3,
//!   fchmodat2) instead of failing with the default EPERM.
//! - i386 multiplexers: as libseccomp does, a rule on a socket or SysV IPC call (e.g.
//!   `socket`, `semop`) also becomes a rule on socketcall(2)/ipc(2) whose first
//!   argument is that call's number (the rule's own conditions are kept unchanged).

mod arch;
mod bpf;
mod install;
mod syscalls;
#[cfg(test)]
mod tests;

use arch::Abi;
use bpf::{Cond, GenError, Op, Plan, Rule, Section};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Operator,
};
use std::collections::{BTreeMap, BTreeSet};

/// SECCOMP_RET_* action values (<linux/seccomp.h>).
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_KILL_THREAD: u32 = 0x0000_0000;
const RET_TRAP: u32 = 0x0003_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const RET_USER_NOTIF: u32 = 0x7fc0_0000;
const RET_TRACE: u32 = 0x7ff0_0000;
const RET_LOG: u32 = 0x7ffc_0000;
const RET_ALLOW: u32 = 0x7fff_0000;

/// seccomp(2) flags (<linux/seccomp.h>).
const FLAG_TSYNC: u32 = 1 << 0;
const FLAG_LOG: u32 = 1 << 1;
const FLAG_SPEC_ALLOW: u32 = 1 << 2;
const FLAG_NEW_LISTENER: u32 = 1 << 3;
const FLAG_TSYNC_ESRCH: u32 = 1 << 4;
const FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

/// Linux syscalls take at most six arguments.
const MAX_ARGS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// A profile value that cannot be compiled; `field` is its JSON path.
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    #[error("linux.seccomp: the filter compiles to {0} BPF instructions, more than the kernel's limit of 4096")]
    TooLarge(usize),
    #[error("linux.seccomp: internal error compiling the filter: {0}")]
    Internal(&'static str),
    #[error("linux.seccomp: seccomp(SECCOMP_SET_MODE_FILTER, flags {flags:#x}): {source}{hint}")]
    Install {
        flags: u32,
        source: std::io::Error,
        hint: &'static str,
    },
}

fn config(field: impl Into<String>, msg: impl Into<String>) -> SeccompError {
    SeccompError::Config {
        field: field.into(),
        msg: msg.into(),
    }
}

/// A compiled profile, ready to install.
pub struct Filter {
    program: Vec<libc::sock_filter>,
    /// Flags for seccomp(2), NEW_LISTENER included when the profile uses NOTIFY.
    flags: u32,
    listener: bool,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("instructions", &self.program.len())
            .field("flags", &format_args!("{:#x}", self.flags))
            .field("listener", &self.listener)
            .finish()
    }
}

impl Filter {
    pub fn instructions(&self) -> usize {
        self.program.len()
    }

    /// The program as loaded into the kernel.
    pub fn program(&self) -> &[libc::sock_filter] {
        &self.program
    }

    /// The flags passed to seccomp(2).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether the profile uses SCMP_ACT_NOTIFY, so that [`Filter::install`] returns a
    /// listener fd for the caller to hand to `linux.seccomp.listenerPath`.
    pub fn needs_listener(&self) -> bool {
        self.listener
    }
}

/// Validates and compiles `spec`; pure (no syscalls).
pub fn compile(spec: &LinuxSeccomp) -> Result<Filter, SeccompError> {
    let default_action = spec.default_action();
    if default_action == Action::ScmpActNotify {
        // runc: for the same reason as `write` below, every syscall must not notify.
        return Err(config(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let default = action(
        default_action,
        spec.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    let native = Abi::NATIVE.ok_or_else(|| {
        config(
            "linux.seccomp",
            "seccomp filters are only implemented for x86_64 hosts",
        )
    })?;

    // The ABIs the profile lists (they get the ENOSYS stub), and those the filter
    // covers (the native one always).
    let listed: BTreeSet<Abi> = spec
        .architectures()
        .iter()
        .flatten()
        .filter_map(|a| Abi::from_spec(*a))
        .collect();
    let mut rules = RuleSet {
        default,
        covered: listed.iter().copied().chain([native]).collect(),
        per_abi: BTreeMap::new(),
        largest: BTreeMap::new(),
    };
    let mut notify = false;
    for (i, sc) in spec.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let act = action(sc.action(), sc.errno_ret(), &format!("{field}.errnoRet"))?;
        let alternatives = conditions(sc.args().as_deref().unwrap_or(&[]), &field)?;
        notify |= sc.action() == Action::ScmpActNotify;
        for (j, name) in sc.names().iter().enumerate() {
            let name_field = || format!("{field}.names[{j}]");
            if name.is_empty() {
                return Err(config(name_field(), "empty syscall name"));
            }
            if !arch::known_anywhere(name) {
                return Err(config(name_field(), format!("unknown syscall {name:?}")));
            }
            if sc.action() == Action::ScmpActNotify && name == "write" {
                // runc: after loading the filter its init writes the listener fd to
                // its parent; notifying on write would hang it.
                return Err(config(
                    format!("{field}.action"),
                    "SCMP_ACT_NOTIFY cannot be used for the write syscall",
                ));
            }
            rules.add(name, act, &alternatives);
        }
    }

    let enosys_stub = !matches!(
        default_action,
        Action::ScmpActAllow | Action::ScmpActLog | Action::ScmpActTrace
    );
    let sections = rules
        .covered
        .iter()
        .map(|&abi| Section {
            abi,
            syscalls: rules.per_abi.remove(&abi).unwrap_or_default(),
            enosys_above: if enosys_stub && listed.contains(&abi) {
                rules.largest.get(&abi).copied()
            } else {
                None
            },
        })
        .collect();
    let plan = Plan {
        default,
        bad_arch: RET_KILL_PROCESS,
        enosys: RET_ERRNO | libc::ENOSYS as u32,
        sections,
    };
    let program = bpf::generate(&plan).map_err(|e| match e {
        GenError::TooLarge(n) => SeccompError::TooLarge(n),
        GenError::Internal(what) => SeccompError::Internal(what),
    })?;
    Ok(Filter {
        program,
        flags: flags(spec.flags().as_deref().unwrap_or(&[]), notify)?,
        listener: notify,
    })
}

/// The rules per ABI and syscall number, in profile order.
struct RuleSet {
    default: u32,
    covered: BTreeSet<Abi>,
    per_abi: BTreeMap<Abi, BTreeMap<u32, Vec<Rule>>>,
    /// The largest number the profile names on each ABI, whatever the action (runc's
    /// ENOSYS stub starts above it).
    largest: BTreeMap<Abi, u32>,
}

impl RuleSet {
    /// Adds `action` under each of the `alternatives` for `name` on every covered ABI
    /// that has it (and, on i386, on the multiplexer that carries it).
    fn add(&mut self, name: &str, action: u32, alternatives: &[Vec<Cond>]) {
        for &abi in &self.covered {
            let direct = abi.lookup(name);
            if let Some(nr) = direct {
                let max = self.largest.entry(abi).or_insert(nr);
                *max = (*max).max(nr);
            }
            if action == self.default {
                continue; // runc drops rules that repeat the default action
            }
            let syscalls = self.per_abi.entry(abi).or_default();
            if let Some(nr) = direct {
                let rules = syscalls.entry(nr).or_default();
                rules.extend(alternatives.iter().map(|conds| Rule {
                    conds: conds.clone(),
                    action,
                }));
            }
            if abi != Abi::I386 {
                continue;
            }
            if let Some((mux, call)) = arch::i386_multiplexed(name) {
                let selector = Cond {
                    arg: 0,
                    op: Op::Eq,
                    value: u64::from(call),
                    value_two: 0,
                };
                let rules = syscalls.entry(mux).or_default();
                rules.extend(alternatives.iter().map(|conds| Rule {
                    conds: [&[selector][..], conds].concat(),
                    action,
                }));
            }
        }
    }
}

/// The SECCOMP_RET_* value of an action; `errno_field` names where `errno` came from.
fn action(act: Action, errno: Option<u32>, errno_field: &str) -> Result<u32, SeccompError> {
    let data = |errno: Option<u32>| match errno {
        None => Ok(libc::EPERM as u32),
        Some(e) if e <= 0xffff => Ok(e),
        Some(e) => Err(config(
            errno_field,
            format!("{e} does not fit the 16-bit SECCOMP_RET_DATA"),
        )),
    };
    Ok(match act {
        Action::ScmpActErrno => RET_ERRNO | data(errno)?,
        Action::ScmpActTrace => RET_TRACE | data(errno)?,
        _ if errno.is_some() => {
            return Err(config(
                errno_field,
                format!(
                    "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not {}",
                    action_name(act)
                ),
            ))
        }
        Action::ScmpActKill | Action::ScmpActKillThread => RET_KILL_THREAD,
        Action::ScmpActKillProcess => RET_KILL_PROCESS,
        Action::ScmpActTrap => RET_TRAP,
        Action::ScmpActAllow => RET_ALLOW,
        Action::ScmpActLog => RET_LOG,
        Action::ScmpActNotify => RET_USER_NOTIF,
    })
}

fn action_name(act: Action) -> &'static str {
    match act {
        Action::ScmpActKill => "SCMP_ACT_KILL",
        Action::ScmpActKillThread => "SCMP_ACT_KILL_THREAD",
        Action::ScmpActKillProcess => "SCMP_ACT_KILL_PROCESS",
        Action::ScmpActTrap => "SCMP_ACT_TRAP",
        Action::ScmpActErrno => "SCMP_ACT_ERRNO",
        Action::ScmpActNotify => "SCMP_ACT_NOTIFY",
        Action::ScmpActTrace => "SCMP_ACT_TRACE",
        Action::ScmpActLog => "SCMP_ACT_LOG",
        Action::ScmpActAllow => "SCMP_ACT_ALLOW",
    }
}

/// The rule's conditions as alternatives (ORed), each a list of ANDed comparisons.
fn conditions(
    args: &[oci_spec::runtime::LinuxSeccompArg],
    field: &str,
) -> Result<Vec<Vec<Cond>>, SeccompError> {
    let mut conds = Vec::with_capacity(args.len());
    for (k, a) in args.iter().enumerate() {
        if a.index() >= MAX_ARGS {
            return Err(config(
                format!("{field}.args[{k}].index"),
                format!("{} is out of range (syscall arguments are 0-5)", a.index()),
            ));
        }
        let op = match a.op() {
            Operator::ScmpCmpNe => Op::Ne,
            Operator::ScmpCmpLt => Op::Lt,
            Operator::ScmpCmpLe => Op::Le,
            Operator::ScmpCmpEq => Op::Eq,
            Operator::ScmpCmpGe => Op::Ge,
            Operator::ScmpCmpGt => Op::Gt,
            Operator::ScmpCmpMaskedEq => Op::MaskedEq,
        };
        conds.push(Cond {
            arg: a.index() as u8,
            op,
            value: a.value(),
            value_two: a.value_two().unwrap_or(0),
        });
    }
    let mut seen = [false; MAX_ARGS];
    let repeated = conds
        .iter()
        .any(|c| std::mem::replace(&mut seen[usize::from(c.arg)], true));
    Ok(if repeated {
        // runc's fallback when two conditions test the same argument.
        conds.into_iter().map(|c| vec![c]).collect()
    } else {
        vec![conds]
    })
}

fn flags(list: &[Flag], notify: bool) -> Result<u32, SeccompError> {
    let mut flags = 0;
    for (i, f) in list.iter().enumerate() {
        flags |= match f {
            Flag::SeccompFilterFlagTsync => FLAG_TSYNC,
            Flag::SeccompFilterFlagLog => FLAG_LOG,
            Flag::SeccompFilterFlagSpecAllow => FLAG_SPEC_ALLOW,
            Flag::SeccompFilterFlagWaitKillableRecv if !notify => {
                return Err(config(
                    format!("linux.seccomp.flags[{i}]"),
                    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule",
                ))
            }
            Flag::SeccompFilterFlagWaitKillableRecv => FLAG_WAIT_KILLABLE_RECV,
        };
    }
    if notify {
        flags |= FLAG_NEW_LISTENER;
        if flags & FLAG_TSYNC != 0 {
            // The kernel refuses TSYNC with NEW_LISTENER unless TSYNC failures are
            // reported as ESRCH (the return value is the listener fd).
            flags |= FLAG_TSYNC_ESRCH;
        }
    }
    Ok(flags)
}
