//! Mount options: every option runc accepts, sorted into what each mount syscall needs.
//!
//! Per-mount flags become MOUNT_ATTR_* bits (fsmount/mount_setattr), superblock flags and
//! filesystem-specific options become fsconfig keys (so the kernel names the exact key it
//! rejects), `r*` options are recursive mount_setattr changes, and the rest are skiff's
//! own extensions (tmpcopyup, idmap).
//!
//! A bind mount has no filesystem of its own: a superblock flag (sync, mand, ...) would
//! change the source's filesystem for everyone, so it is an error; `key=value` data is
//! ignored by the kernel for MS_BIND and runc passes it along unchecked (the runtime-tools
//! `mounts` test sends `mode=755,size=1k` on its binds), so it is accepted, reported in
//! [`Parsed::ignored`] and logged; any other word skiff does not know is an error naming
//! the mount and the option.

use super::mount_api::{self as api, AttrChange};
use oci_spec::runtime::Mount;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    Bind { recursive: bool },
    Fs { fstype: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    pub kind: Kind,
    /// Attributes of the mount itself (ro, nosuid, nodev, noexec, atime, nosymfollow).
    pub attrs: AttrChange,
    /// `r*` attributes, applied to the whole tree.
    pub rec_attrs: AttrChange,
    /// Propagation changes in order: (MS_* flag, recursive).
    pub propagation: Vec<(u64, bool)>,
    /// Superblock flags for fsconfig (sync, dirsync, lazytime, mand, ro, and the
    /// clearing forms async, nolazytime, nomand, rw).
    pub sb_flags: Vec<String>,
    /// Filesystem options: `key=value` or a bare flag.
    pub data: Vec<(String, Option<String>)>,
    pub remount: bool,
    pub tmpcopyup: bool,
    /// `idmap` (false) or `ridmap` (true), or uid/gid mappings on the mount.
    pub idmap: Option<bool>,
    /// Filesystem data given on a bind mount, which has no filesystem to take it.
    pub ignored: Vec<String>,
}

enum Opt {
    /// Mount attribute: set (true) or clear (false) these bits.
    Attr(bool, u64),
    /// atime mode (one of MOUNT_ATTR_RELATIME/NOATIME/STRICTATIME).
    Atime(u64),
    /// Recursive attribute: set (true) or clear (false).
    RecAttr(bool, u64),
    RecAtime(u64),
    Propagation(u64, bool),
    SbFlag(&'static str),
    Bind(bool),
    Remount,
    Ignore,
    TmpCopyUp,
    Idmap(bool),
}

fn lookup(opt: &str) -> Option<Opt> {
    use api::*;
    use Opt::*;
    let ms = |f: libc::c_ulong| f;
    Some(match opt {
        "defaults" => Ignore,
        "ro" => Attr(true, MOUNT_ATTR_RDONLY),
        "rw" => Attr(false, MOUNT_ATTR_RDONLY),
        "nosuid" => Attr(true, MOUNT_ATTR_NOSUID),
        "suid" => Attr(false, MOUNT_ATTR_NOSUID),
        "nodev" => Attr(true, MOUNT_ATTR_NODEV),
        "dev" => Attr(false, MOUNT_ATTR_NODEV),
        "noexec" => Attr(true, MOUNT_ATTR_NOEXEC),
        "exec" => Attr(false, MOUNT_ATTR_NOEXEC),
        "nodiratime" => Attr(true, MOUNT_ATTR_NODIRATIME),
        "diratime" => Attr(false, MOUNT_ATTR_NODIRATIME),
        "nosymfollow" => Attr(true, MOUNT_ATTR_NOSYMFOLLOW),
        "symfollow" => Attr(false, MOUNT_ATTR_NOSYMFOLLOW),
        "noatime" => Atime(MOUNT_ATTR_NOATIME),
        "strictatime" => Atime(MOUNT_ATTR_STRICTATIME),
        "relatime" | "atime" | "norelatime" | "nostrictatime" => Atime(MOUNT_ATTR_RELATIME),
        "rro" => RecAttr(true, MOUNT_ATTR_RDONLY),
        "rrw" => RecAttr(false, MOUNT_ATTR_RDONLY),
        "rnosuid" => RecAttr(true, MOUNT_ATTR_NOSUID),
        "rsuid" => RecAttr(false, MOUNT_ATTR_NOSUID),
        "rnodev" => RecAttr(true, MOUNT_ATTR_NODEV),
        "rdev" => RecAttr(false, MOUNT_ATTR_NODEV),
        "rnoexec" => RecAttr(true, MOUNT_ATTR_NOEXEC),
        "rexec" => RecAttr(false, MOUNT_ATTR_NOEXEC),
        "rnodiratime" => RecAttr(true, MOUNT_ATTR_NODIRATIME),
        "rdiratime" => RecAttr(false, MOUNT_ATTR_NODIRATIME),
        "rnosymfollow" => RecAttr(true, MOUNT_ATTR_NOSYMFOLLOW),
        "rsymfollow" => RecAttr(false, MOUNT_ATTR_NOSYMFOLLOW),
        "rnoatime" => RecAtime(MOUNT_ATTR_NOATIME),
        "rstrictatime" => RecAtime(MOUNT_ATTR_STRICTATIME),
        "rrelatime" | "ratime" | "rnorelatime" | "rnostrictatime" => RecAtime(MOUNT_ATTR_RELATIME),
        "private" => Propagation(ms(libc::MS_PRIVATE), false),
        "rprivate" => Propagation(ms(libc::MS_PRIVATE), true),
        "shared" => Propagation(ms(libc::MS_SHARED), false),
        "rshared" => Propagation(ms(libc::MS_SHARED), true),
        "slave" => Propagation(ms(libc::MS_SLAVE), false),
        "rslave" => Propagation(ms(libc::MS_SLAVE), true),
        "unbindable" => Propagation(ms(libc::MS_UNBINDABLE), false),
        "runbindable" => Propagation(ms(libc::MS_UNBINDABLE), true),
        "sync" => SbFlag("sync"),
        "async" => SbFlag("async"),
        "dirsync" => SbFlag("dirsync"),
        "lazytime" => SbFlag("lazytime"),
        "nolazytime" => SbFlag("nolazytime"),
        "mand" => SbFlag("mand"),
        "nomand" => SbFlag("nomand"),
        "iversion" => SbFlag("iversion"),
        "noiversion" => SbFlag("noiversion"),
        // Only affect kernel log verbosity of the mount.
        "silent" | "loud" => Ignore,
        "bind" => Bind(false),
        "rbind" => Bind(true),
        "remount" => Remount,
        "tmpcopyup" => TmpCopyUp,
        "idmap" => Idmap(false),
        "ridmap" => Idmap(true),
        _ => return None,
    })
}

/// The MS_* propagation flag of `linux.rootfsPropagation`.
pub fn root_propagation(value: &str) -> Option<libc::c_ulong> {
    Some(match value {
        "private" => libc::MS_PRIVATE,
        "rprivate" => libc::MS_PRIVATE | libc::MS_REC,
        "shared" => libc::MS_SHARED,
        "rshared" => libc::MS_SHARED | libc::MS_REC,
        "slave" => libc::MS_SLAVE,
        "rslave" => libc::MS_SLAVE | libc::MS_REC,
        "unbindable" => libc::MS_UNBINDABLE,
        "runbindable" => libc::MS_UNBINDABLE | libc::MS_REC,
        _ => return None,
    })
}

fn set_atime(change: &mut AttrChange, mode: u64) {
    change.clr |= api::MOUNT_ATTR__ATIME;
    change.set = (change.set & !api::MOUNT_ATTR__ATIME) | mode;
}

fn apply_attr(change: &mut AttrChange, set: bool, bits: u64) {
    if set {
        change.set |= bits;
        change.clr &= !bits;
    } else {
        change.clr |= bits;
        change.set &= !bits;
    }
}

/// Splits `a=1,b="x,y"` at the commas outside double quotes.
fn split_data(opt: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in opt.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                cur.push(ch);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    parts.push(cur);
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Parses one mount of config.json. The error names the offending option.
pub fn parse(m: &Mount) -> Result<Parsed, String> {
    let dest = m.destination().display().to_string();
    let mut attrs = AttrChange::default();
    let mut rec_attrs = AttrChange::default();
    let mut propagation = Vec::new();
    let mut sb_flags = Vec::new();
    let mut data = Vec::new();
    let mut bind = None;
    let mut remount = false;
    let mut tmpcopyup = false;
    let mut idmap = None;
    let typ = m.typ().clone().unwrap_or_default();
    if typ == "bind" {
        bind = Some(false);
    }
    for opt in m.options().iter().flatten() {
        match lookup(opt) {
            Some(Opt::Attr(set, bits)) => apply_attr(&mut attrs, set, bits),
            Some(Opt::Atime(mode)) => set_atime(&mut attrs, mode),
            Some(Opt::RecAttr(set, bits)) => apply_attr(&mut rec_attrs, set, bits),
            Some(Opt::RecAtime(mode)) => set_atime(&mut rec_attrs, mode),
            Some(Opt::Propagation(flag, rec)) => propagation.push((flag, rec)),
            Some(Opt::SbFlag(f)) => sb_flags.push(f.to_string()),
            Some(Opt::Bind(rec)) => bind = Some(bind.unwrap_or(false) || rec),
            Some(Opt::Remount) => remount = true,
            Some(Opt::TmpCopyUp) => tmpcopyup = true,
            Some(Opt::Idmap(rec)) => idmap = Some(rec),
            Some(Opt::Ignore) => {}
            None if opt.is_empty() => return Err(format!("{dest}: empty mount option")),
            // runc joins options into one data string, so one entry may carry several
            // comma-separated filesystem options.
            None => {
                for part in split_data(opt) {
                    match part.split_once('=') {
                        Some((k, v)) if !k.is_empty() => {
                            data.push((k.to_string(), Some(v.to_string())))
                        }
                        Some(_) => return Err(format!("{dest}: invalid mount option {opt:?}")),
                        None => data.push((part, None)),
                    }
                }
            }
        }
    }
    if m.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        || m.gid_mappings().as_ref().is_some_and(|v| !v.is_empty())
    {
        idmap.get_or_insert(false);
    }
    let mut ignored = Vec::new();
    let kind = match bind {
        Some(recursive) => {
            for (k, v) in std::mem::take(&mut data) {
                match v {
                    Some(v) => ignored.push(format!("{k}={v}")),
                    None => {
                        return Err(format!(
                            "{dest}: unknown mount option {k:?} (a bind mount takes no filesystem options)"
                        ))
                    }
                }
            }
            if let Some(flag) = sb_flags.first() {
                return Err(format!(
                    "{dest}: option {flag:?} changes the filesystem, which a bind mount shares with its source; it cannot be applied to a bind mount"
                ));
            }
            if tmpcopyup {
                return Err(format!("{dest}: tmpcopyup only applies to tmpfs mounts"));
            }
            Kind::Bind { recursive }
        }
        None => {
            if typ.is_empty() || typ == "none" {
                return Err(format!("{dest}: mount type missing (and not a bind mount)"));
            }
            if tmpcopyup && typ != "tmpfs" {
                return Err(format!("{dest}: tmpcopyup only applies to tmpfs mounts"));
            }
            if idmap.is_some() {
                return Err(format!(
                    "{dest}: idmapped mounts are only supported for bind mounts"
                ));
            }
            Kind::Fs { fstype: typ }
        }
    };
    if !m.destination().is_absolute() {
        return Err(format!("{dest}: destination is not an absolute path"));
    }
    Ok(Parsed {
        kind,
        attrs,
        rec_attrs,
        propagation,
        sb_flags,
        data,
        remount,
        tmpcopyup,
        idmap,
        ignored,
    })
}

#[cfg(test)]
#[path = "tests/options.rs"]
mod tests;
