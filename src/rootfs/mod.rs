//! The container's root filesystem: mounts, devices, the pivot, masked and read-only
//! paths, sysctls.
//!
//! Runs in the init, in the container's mount namespace. Every path inside the rootfs is
//! resolved with [`resolve`] (never leaving the rootfs, symlinks included) and every
//! mount is attached to the resolved fd ([`mount_api`]), so a hostile image cannot
//! redirect a mount, a device node or a mask onto the host.

mod cgroupfs;
mod copyup;
mod devices;
pub mod idmap;
mod masks;
pub mod mount_api;
pub mod mountinfo;
mod mounts;
pub mod options;
mod pivot;
pub mod procfs;
pub mod resolve;
pub mod sysctl;

use crate::cgroups::CgroupPaths;
use oci_spec::runtime::Spec;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("mounts[{index}] ({dest}): {what}: {source}")]
    Mount {
        index: usize,
        dest: String,
        what: String,
        source: std::io::Error,
    },
    #[error("mounts[{index}] ({dest}): {msg}")]
    MountConfig {
        index: usize,
        dest: String,
        msg: String,
    },
    #[error("{field}: {what}: {source}")]
    Sys {
        field: String,
        what: String,
        source: std::io::Error,
    },
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
}

pub type Result<T> = std::result::Result<T, RootfsError>;

pub(crate) fn sys_err(
    field: impl Into<String>,
    what: impl Into<String>,
) -> impl FnOnce(std::io::Error) -> RootfsError {
    let (field, what) = (field.into(), what.into());
    move |source| RootfsError::Sys {
        field,
        what,
        source,
    }
}

/// What the rootfs setup needs to know about the container.
pub struct Rootfs<'a> {
    pub spec: &'a Spec,
    /// Absolute path of the rootfs on the host.
    pub path: &'a Path,
    pub bundle: &'a Path,
    pub cgroup: &'a CgroupPaths,
    pub own_mount_ns: bool,
    pub cgroup_ns: bool,
    pub user_ns: bool,
    pub no_pivot: bool,
    /// Idmapped bind mounts prepared by the runtime, by mount index.
    pub idmapped: &'a [Option<OwnedFd>],
}

impl Rootfs<'_> {
    fn linux(&self) -> Option<&oci_spec::runtime::Linux> {
        self.spec.linux().as_ref()
    }

    /// Before the pivot: mount propagation, the rootfs bind, the config's mounts and the
    /// device nodes. Returns an O_PATH fd of the rootfs.
    pub fn prepare(&self) -> Result<OwnedFd> {
        let root = if self.own_mount_ns {
            pivot::prepare_root(self)?
        } else {
            pivot::open_root(self)?
        };
        let mut dev_is_bound = false;
        let mut mounted = mounts::Mounted::default();
        for (index, m) in self.spec.mounts().iter().flatten().enumerate() {
            mounts::mount_entry(self, root.as_fd(), index, m, &mut mounted)?;
            if resolve::clean(m.destination()) == Path::new("dev")
                && matches!(options::parse(m), Ok(p) if matches!(p.kind, options::Kind::Bind { .. }))
            {
                dev_is_bound = true;
            }
        }
        if !dev_is_bound {
            devices::create_defaults(root.as_fd())?;
        }
        devices::create_configured(self, root.as_fd())?;
        Ok(root)
    }

    /// Makes the rootfs the process's `/`.
    pub fn pivot(&self, root: &OwnedFd) -> Result<()> {
        pivot::enter(self, root)
    }

    /// After the pivot: masked and read-only paths, the read-only root, propagation.
    pub fn finalize(&self) -> Result<()> {
        let root = open_dir_path("/").map_err(sys_err("root.path", "open / after pivot"))?;
        if let Some(linux) = self.linux() {
            masks::mask_paths(root.as_fd(), linux.masked_paths().as_deref().unwrap_or(&[]))?;
            masks::readonly_paths(
                root.as_fd(),
                linux.readonly_paths().as_deref().unwrap_or(&[]),
            )?;
        }
        pivot::finish(self, root.as_fd())
    }
}

/// An O_PATH fd of the directory `path`.
fn open_dir_path(path: impl AsRef<Path>) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)?;
    Ok(file.into())
}
