//! Finding and executing the container's program; the working directory.

use super::{ProcessError, Result};
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Resolves `args[0]` the way runc does (Go's exec.LookPath with the container's PATH):
/// a name with a `/` is used as is, otherwise the first executable regular file found
/// in `$PATH` wins. Runs inside the container, as the container's user.
pub fn look_path(program: &str, env: &[String]) -> Result<PathBuf> {
    let not_found = |why: &str| ProcessError::Config {
        field: "process.args[0]".into(),
        msg: format!("exec: {program:?}: {why}"),
    };
    if program.is_empty() {
        return Err(not_found("empty program name"));
    }
    if program.contains('/') {
        return match check_executable(Path::new(program)) {
            Ok(()) => Ok(PathBuf::from(program)),
            Err(e) => Err(ProcessError::Sys {
                what: format!("process.args[0]: exec {program:?}"),
                source: e,
            }),
        };
    }
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("");
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(program);
        if check_executable(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(not_found("executable file not found in $PATH"))
}

fn check_executable(path: &Path) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    let c = cstr(path.as_os_str().as_bytes());
    // SAFETY: access() with a valid C string; uses the (already switched) real ids.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

pub fn chdir(cwd: &Path) -> std::io::Result<()> {
    std::env::set_current_dir(cwd)
}

/// After chdir, the kernel must agree we are inside the container's root: getcwd fails
/// with ENOENT or returns "(unreachable)..." for a directory outside it
/// (CVE-2024-21626: `process.cwd = /proc/self/fd/N` with a leaked host fd).
pub fn verify_cwd(cwd: &Path) -> Result<()> {
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() && p.as_os_str().as_bytes().starts_with(b"/") => Ok(()),
        Ok(p) => Err(ProcessError::Config {
            field: "process.cwd".into(),
            msg: format!(
                "{} resolves outside the container root ({})",
                cwd.display(),
                p.display()
            ),
        }),
        Err(e) => Err(ProcessError::Sys {
            what: format!(
                "process.cwd: {} is not inside the container root",
                cwd.display()
            ),
            source: e,
        }),
    }
}

pub fn cstr(bytes: &[u8]) -> CString {
    CString::new(
        bytes
            .iter()
            .copied()
            .filter(|&b| b != 0)
            .collect::<Vec<u8>>(),
    )
    .unwrap_or_default()
}

/// execve(2). Returns only on failure.
pub fn execve(path: &Path, args: &[String], env: &[String]) -> std::io::Error {
    let path_c = cstr(path.as_os_str().as_bytes());
    let args_c: Vec<CString> = args.iter().map(|a| cstr(a.as_bytes())).collect();
    let env_c: Vec<CString> = env.iter().map(|e| cstr(e.as_bytes())).collect();
    let argv: Vec<*const libc::c_char> = args_c
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp: Vec<*const libc::c_char> = env_c
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // SAFETY: NULL-terminated arrays of valid C strings, alive across the call.
    unsafe { libc::execve(path_c.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    std::io::Error::last_os_error()
}
