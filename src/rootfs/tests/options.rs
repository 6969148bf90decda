//! Unit tests of `rootfs/options.rs`.

use super::*;

fn mount(typ: &str, opts: &[&str]) -> Mount {
    serde_json::from_value(serde_json::json!({
        "destination": "/x", "type": typ, "source": "s", "options": opts
    }))
    .unwrap()
}

#[test]
fn default_dev_tmpfs() {
    let p = parse(&mount(
        "tmpfs",
        &["nosuid", "strictatime", "mode=755", "size=65536k"],
    ))
    .unwrap();
    assert_eq!(
        p.kind,
        Kind::Fs {
            fstype: "tmpfs".into()
        }
    );
    assert_eq!(
        p.attrs.set,
        api::MOUNT_ATTR_NOSUID | api::MOUNT_ATTR_STRICTATIME
    );
    assert_eq!(
        p.data,
        vec![
            ("mode".into(), Some("755".into())),
            ("size".into(), Some("65536k".into()))
        ]
    );
}

#[test]
fn bind_rejects_unknown_option() {
    let err = parse(&mount("bind", &["rbind", "bogus"])).unwrap_err();
    assert!(err.contains("\"bogus\""), "{err}");
    let err = parse(&mount("bind", &["rbind", "sync"])).unwrap_err();
    assert!(err.contains("\"sync\""), "{err}");
    let p = parse(&mount("bind", &["nosuid", "mode=755", "size=1k", "bind"])).unwrap();
    assert_eq!(
        p.ignored,
        vec!["mode=755".to_string(), "size=1k".to_string()]
    );
    assert!(p.data.is_empty());
    let p = parse(&mount("none", &["rbind", "rprivate", "ro", "rnosuid"])).unwrap();
    assert_eq!(p.kind, Kind::Bind { recursive: true });
    assert_eq!(p.propagation, vec![(libc::MS_PRIVATE, true)]);
    assert_eq!(p.rec_attrs.set, api::MOUNT_ATTR_NOSUID);
}

#[test]
fn later_option_wins() {
    let p = parse(&mount("tmpfs", &["ro", "rw"])).unwrap();
    assert_eq!(p.attrs.set & api::MOUNT_ATTR_RDONLY, 0);
    assert_ne!(p.attrs.clr & api::MOUNT_ATTR_RDONLY, 0);
}

#[test]
fn splits_joined_data() {
    let p = parse(&mount(
        "overlay",
        &["lowerdir=/a:/b,upperdir=/u", "context=\"a,b\""],
    ))
    .unwrap();
    assert_eq!(p.data.len(), 3);
    assert_eq!(p.data[2], ("context".into(), Some("\"a,b\"".into())));
}

#[test]
fn missing_type() {
    assert!(parse(&mount("", &["nosuid"])).is_err());
}
