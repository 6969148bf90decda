//! Loading and validating a bundle's `config.json`.
//!
//! Everything that can be checked without touching the system is checked here, before
//! the state dir, the cgroup or the init process exist, so a bad config never leaves
//! anything behind: JSON syntax, types (with the JSON path of the bad value), known spec
//! fields skiff does not implement yet, and semantic rules of the runtime-spec.

mod default;
mod fields;
mod validate;

use std::path::{Path, PathBuf};

pub use default::default_spec;
pub use oci_spec::runtime::Spec;
pub use validate::rlimit_name;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("bundle {path}: {source}")]
    Bundle {
        path: String,
        source: std::io::Error,
    },
    #[error("open {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON at line {line} column {column}: {msg}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("{path}: {field}: {msg}")]
    Type {
        path: String,
        field: String,
        msg: String,
    },
    #[error("config.json: {field}: {msg}")]
    Invalid { field: String, msg: String },
    #[error("config.json: {field}: not supported by skiff yet")]
    Unsupported { field: String },
}

pub type Result<T> = std::result::Result<T, SpecError>;

fn invalid(field: impl Into<String>, msg: impl Into<String>) -> SpecError {
    SpecError::Invalid {
        field: field.into(),
        msg: msg.into(),
    }
}

/// A loaded bundle: its absolute directory, the parsed config and the absolute rootfs.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: Spec,
    pub rootfs: PathBuf,
}

/// Reads and validates `<dir>/config.json`.
pub fn load(dir: &Path) -> Result<Bundle> {
    // Absolute, but symlinks kept: the state's `bundle` is the path the caller gave
    // (runc does filepath.Abs too), and hooks compare it.
    let dir = std::path::absolute(dir).map_err(|e| SpecError::Bundle {
        path: dir.display().to_string(),
        source: e,
    })?;
    if let Err(e) = std::fs::metadata(&dir) {
        return Err(SpecError::Bundle {
            path: dir.display().to_string(),
            source: e,
        });
    }
    let path = dir.join("config.json");
    let text = std::fs::read(&path).map_err(|e| SpecError::Read {
        path: path.display().to_string(),
        source: e,
    })?;
    let spec = parse_named(&text, "config.json")?;
    let rootfs = validate::validate(&spec, &dir)?;
    Ok(Bundle { dir, spec, rootfs })
}

/// Parses a config document: syntax, then fields skiff does not implement, then types.
pub fn parse_named(text: &[u8], name: &str) -> Result<Spec> {
    let value = parse_value(text, name)?;
    fields::reject_unsupported(&value)?;
    from_value(value, name)
}

/// JSON syntax check, with the position of the first error.
pub fn parse_value(text: &[u8], name: &str) -> Result<serde_json::Value> {
    serde_json::from_slice(text).map_err(|e| SpecError::Syntax {
        path: name.to_string(),
        line: e.line(),
        column: e.column(),
        msg: strip_position(&e.to_string()),
    })
}

/// Deserializes into a typed value, naming the JSON path of a value of the wrong type.
pub fn from_value<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
    name: &str,
) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        SpecError::Type {
            path: name.to_string(),
            field: if field == "." { "(root)".into() } else { field },
            msg: strip_position(&e.inner().to_string()),
        }
    })
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_position() {
        let err = parse_named(
            b"{\"ociVersion\": \"1.0.2\",\n \"process\": }",
            "config.json",
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("config.json: invalid JSON at line 2"),
            "{msg}"
        );
    }

    #[test]
    fn type_error_names_json_path() {
        let doc = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":"root","gid":0}}}"#;
        let msg = parse_named(doc, "config.json").unwrap_err().to_string();
        assert!(msg.contains("process.user.uid"), "{msg}");
    }

    #[test]
    fn unknown_capability_is_rejected() {
        let doc = br#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"capabilities":{"bounding":["CAP_TEST"]}}}"#;
        let msg = parse_named(doc, "config.json").unwrap_err().to_string();
        assert!(msg.contains("process.capabilities.bounding"), "{msg}");
    }
}
