//! Known runtime-spec fields that skiff does not implement yet.
//!
//! The spec says runtimes MUST ignore *unknown* properties, so this is not a schema: it
//! lists fields the spec defines and a runc user would expect to take effect. Silently
//! dropping one would run the container with weaker isolation or different limits than
//! asked, so each is a clear error naming the field until it is implemented.

use super::{Result, SpecError};
use serde_json::Value;

/// JSON paths (dot-separated, `*` = any array element or map key) of unsupported fields.
const UNSUPPORTED: &[&str] = &[
    "linux.intelRdt",
    "linux.memoryPolicy",
    "linux.netDevices",
    "process.scheduler",
    "process.execCPUAffinity",
];

pub fn reject_unsupported(doc: &Value) -> Result<()> {
    for pattern in UNSUPPORTED {
        let segments: Vec<&str> = pattern.split('.').collect();
        if let Some(found) = find_present(doc, &segments, String::new()) {
            return Err(SpecError::Unsupported { field: found });
        }
    }
    Ok(())
}

/// Returns the concrete path of the first non-null value matching `segments`.
fn find_present(value: &Value, segments: &[&str], prefix: String) -> Option<String> {
    let Some((first, rest)) = segments.split_first() else {
        return (!value.is_null()).then_some(prefix);
    };
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match (value, *first) {
        (Value::Array(items), "*") => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_present(v, rest, format!("{prefix}[{i}]"))),
        (Value::Object(map), "*") => map.iter().find_map(|(k, v)| find_present(v, rest, join(k))),
        (Value::Object(map), key) => map.get(key).and_then(|v| find_present(v, rest, join(key))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_unsupported_field() {
        let doc: Value = serde_json::json!({"linux": {"intelRdt": {"closID": "a"}}});
        let err = reject_unsupported(&doc).unwrap_err().to_string();
        assert_eq!(
            err,
            "config.json: linux.intelRdt: not supported by skiff yet"
        );
    }

    #[test]
    fn null_counts_as_absent() {
        let doc: Value =
            serde_json::json!({"linux": {"seccomp": null, "resources": {"devices": []}}});
        assert!(reject_unsupported(&doc).is_ok());
    }

    #[test]
    fn wildcards_give_concrete_paths() {
        let doc = serde_json::json!({"a": [{"b": 1}, {"c": 2}]});
        assert_eq!(
            find_present(&doc, &["a", "*", "c"], String::new()).as_deref(),
            Some("a[1].c")
        );
    }
}
