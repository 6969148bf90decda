//! Unit tests of `spec/default.rs`.

use super::*;

#[test]
fn default_spec_parses_as_a_spec() {
    let text = serde_json::to_vec(&default_spec(None)).unwrap();
    super::super::parse_named(&text, "config.json").unwrap();
}

#[test]
fn rootless_spec_maps_the_caller() {
    let spec = default_spec(Some((1000, 1001)));
    assert_eq!(spec["linux"]["uidMappings"][0]["hostID"], 1000);
    assert!(spec["linux"]["resources"].is_null());
    let types: Vec<&str> = spec["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"user") && !types.contains(&"network"));
    let text = serde_json::to_vec(&spec).unwrap();
    super::super::parse_named(&text, "config.json").unwrap();
}
