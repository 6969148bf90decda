//! Unit tests of `rootfs/sysctl.rs`.

use super::*;

fn ns(types: &[Ns]) -> Vec<LinuxNamespace> {
    types
        .iter()
        .map(|t| serde_json::from_value(serde_json::json!({"type": t})).unwrap())
        .collect()
}

#[test]
fn namespaced_keys_only() {
    let one = |k: &str| HashMap::from([(k.to_string(), "1".to_string())]);
    assert!(validate(&one("net.ipv4.ip_forward"), &ns(&[Ns::Network])).is_ok());
    assert!(validate(&one("net.ipv4.ip_forward"), &ns(&[Ns::Ipc])).is_err());
    assert!(validate(&one("kernel.shmmax"), &ns(&[Ns::Ipc])).is_ok());
    assert!(validate(&one("kernel.shmmax"), &ns(&[Ns::Network])).is_err());
    assert!(validate(&one("fs.mqueue.msg_max"), &ns(&[Ns::Ipc])).is_ok());
    assert!(validate(&one("vm.swappiness"), &ns(&[Ns::Ipc, Ns::Network])).is_err());
    assert!(validate(&one("kernel.domainname"), &ns(&[Ns::Uts])).is_ok());
    assert!(validate(&one("net..x"), &ns(&[Ns::Network])).is_err());
    assert!(validate(&one("net.ipv4/../../x"), &ns(&[Ns::Network])).is_err());
}

#[test]
fn joining_the_hosts_namespace_is_refused() {
    let host: Vec<LinuxNamespace> = vec![serde_json::from_value(
        serde_json::json!({"type": "network", "path": "/proc/self/ns/net"}),
    )
    .unwrap()];
    let err = validate(
        &HashMap::from([("net.ipv4.ip_forward".into(), "1".into())]),
        &host,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("host"), "{err}");
}
