//! Idmapped bind mounts (`uidMappings`/`gidMappings` on a mount, `idmap`/`ridmap`).
//!
//! The mapping must be a user namespace whose ids are expressed in the host's terms, so
//! the runtime builds these mounts before the init exists, as detached trees; the init
//! inherits the fds and attaches them inside the rootfs like any other bind mount.

use super::mount_api::{self as api, AttrChange};
use super::options::{self, Kind};
use super::procfs::Procfs;
use super::{sys_err, Result, RootfsError};
use crate::process::clone::{clone3, Forked};
use oci_spec::runtime::{LinuxIdMapping, Spec};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// For each mount of the config, the prepared idmapped tree, if it is one.
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<Vec<Option<OwnedFd>>> {
    let mut out = Vec::new();
    let linux = spec.linux().as_ref();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let field = format!("mounts[{i}]");
        let parsed = options::parse(m).map_err(|msg| RootfsError::Config {
            field: field.clone(),
            msg,
        })?;
        let (Kind::Bind { recursive }, Some(recursive_idmap)) = (&parsed.kind, parsed.idmap) else {
            out.push(None);
            continue;
        };
        let pick = |own: &Option<Vec<LinuxIdMapping>>,
                    container: Option<&Option<Vec<LinuxIdMapping>>>| {
            own.clone()
                .filter(|v| !v.is_empty())
                .or_else(|| container.and_then(|c| c.clone()))
                .unwrap_or_default()
        };
        let uids = pick(m.uid_mappings(), linux.map(|l| l.uid_mappings()));
        let gids = pick(m.gid_mappings(), linux.map(|l| l.gid_mappings()));
        if uids.is_empty() || gids.is_empty() {
            return Err(RootfsError::Config {
                field,
                msg: "an idmapped mount needs uidMappings and gidMappings (on the mount, or the container's user namespace)".into(),
            });
        }
        let userns = helper_userns(&uids, &gids).map_err(sys_err(
            &field,
            "create the user namespace for the id mapping",
        ))?;
        let src = m.source().as_ref().map(|s| {
            if s.is_absolute() {
                s.clone()
            } else {
                bundle.join(s)
            }
        });
        let src = src.ok_or_else(|| RootfsError::Config {
            field: field.clone(),
            msg: "bind mount without a source".into(),
        })?;
        let flags = api::OPEN_TREE_CLONE | if *recursive { api::AT_RECURSIVE } else { 0 };
        let tree = api::open_tree(None, &src.to_string_lossy(), flags)
            .map_err(sys_err(&field, format!("clone mount of {}", src.display())))?;
        let idmap = AttrChange {
            set: api::MOUNT_ATTR_IDMAP,
            ..Default::default()
        };
        api::mount_setattr(tree.as_fd(), recursive_idmap, idmap, Some(userns.as_fd())).map_err(
            sys_err(
                &field,
                format!(
                    "idmap the mount of {} (does its filesystem support idmapped mounts?)",
                    src.display()
                ),
            ),
        )?;
        out.push(Some(tree));
    }
    Ok(out)
}

fn map_text(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// A user namespace with the given maps, held by a short-lived child that only waits.
/// Its maps are written, and its namespace opened, through the verified procfs handle
/// (security.md rule 7).
fn helper_userns(uids: &[LinuxIdMapping], gids: &[LinuxIdMapping]) -> std::io::Result<OwnedFd> {
    let proc = Procfs::open()?;
    match clone3(libc::CLONE_NEWUSER as u64, None)? {
        Forked::Child => {
            // SAFETY: prctl with integer arguments: die with the runtime.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
            loop {
                // SAFETY: pause has no preconditions; the parent kills us.
                unsafe { libc::pause() };
            }
        }
        Forked::Parent { pid, pidfd } => {
            let result = (|| {
                proc.write(format!("{pid}/uid_map"), map_text(uids).as_bytes())?;
                proc.write(format!("{pid}/gid_map"), map_text(gids).as_bytes())?;
                // ns/user is a magic link: open it relative to the verified ns directory.
                let ns_dir =
                    proc.open_file(format!("{pid}/ns"), libc::O_PATH | libc::O_DIRECTORY)?;
                // SAFETY: openat relative to a directory fd we hold, with a static C string.
                let fd = unsafe {
                    libc::openat(
                        ns_dir.as_raw_fd(),
                        c"user".as_ptr(),
                        libc::O_RDONLY | libc::O_CLOEXEC,
                    )
                };
                if fd < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // SAFETY: a new fd nobody else owns.
                Ok(unsafe { OwnedFd::from_raw_fd(fd) })
            })();
            let _ = crate::process::clone::pidfd_send_signal(&pidfd, libc::SIGKILL);
            let _ = crate::process::clone::wait_exit_code(pid);
            result
        }
    }
}
