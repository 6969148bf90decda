//! skiff: a low-level OCI container runtime, a drop-in replacement for runc.
//!
//! One module per kernel concept. `container` strings them together into the
//! runc-compatible operations (create, start, state, kill, delete, run, list);
//! `main.rs` only maps the command line onto those calls.

pub mod cgroups;
pub mod container;
pub mod hooks;
pub mod logging;
pub mod namespaces;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;

/// The runtime-spec version skiff implements (printed by `--version`, written by `spec`).
pub const OCI_VERSION: &str = "1.3.0";

pub use container::Error;
