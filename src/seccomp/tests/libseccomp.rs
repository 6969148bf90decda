//! Differential test: our programs against libseccomp's (driven the way runc drives
//! it, plus runc's ENOSYS stub) on the same inputs. Needs a C compiler and
//! libseccomp-dev, so it is ignored by default:
//! `cargo test --lib seccomp -- --ignored differential`.

use super::generated::{random_args, random_profile, Rng};
use super::*;
use oci_spec::runtime::Arch;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Builds testdata/libseccomp_export.c into a temporary directory.
fn helper() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("skiff-seccomp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/seccomp/testdata/libseccomp_export.c"
    );
    let bin = dir.join("libseccomp_export");
    let status = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&bin)
        .arg(src)
        .arg("-lseccomp")
        .status()
        .expect("cc (install a C compiler and libseccomp-dev)");
    assert!(status.success(), "building {src} (needs libseccomp-dev)");
    bin
}

/// Syscall names this libseccomp knows (from its <seccomp-syscalls.h>).
fn libseccomp_names() -> std::collections::HashSet<String> {
    let h = std::fs::read_to_string("/usr/include/seccomp-syscalls.h").expect("libseccomp-dev");
    h.lines()
        .filter_map(|l| l.strip_prefix("#define __SNR_"))
        .filter_map(|l| l.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// The program libseccomp builds for `s`, with runc's rule handling: rules repeating
/// the default action dropped, conditions on a repeated argument split into rules.
fn libseccomp_program(helper: &PathBuf, s: &LinuxSeccomp) -> Vec<libc::sock_filter> {
    let default = action(s.default_action(), s.default_errno_ret(), "").unwrap();
    let mut input = format!("D {default}\n");
    for a in s.architectures().iter().flatten() {
        let name = match a {
            Arch::ScmpArchX86_64 => "x86_64",
            Arch::ScmpArchX86 => "x86",
            Arch::ScmpArchX32 => "x32",
            _ => continue,
        };
        input += &format!("A {name}\n");
    }
    for sc in s.syscalls().iter().flatten() {
        let act = action(sc.action(), sc.errno_ret(), "").unwrap();
        if act == default {
            continue;
        }
        let args = sc.args().clone().unwrap_or_default();
        let mut idx: Vec<usize> = args.iter().map(|a| a.index()).collect();
        idx.sort();
        let groups: Vec<Vec<_>> = if idx.windows(2).any(|w| w[0] == w[1]) {
            args.iter().map(|a| vec![*a]).collect()
        } else {
            vec![args]
        };
        for name in sc.names() {
            for g in &groups {
                input += &format!("R {name} {act} {}", g.len());
                for a in g {
                    let two = a.value_two().unwrap_or(0);
                    input += &format!(" {} {} {} {two}", a.index(), a.op() as u32, a.value());
                }
                input += "\n";
            }
        }
    }
    let mut child = Command::new(helper)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "libseccomp refused the profile");
    out.stdout
        .chunks(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect()
}

/// Keeps `s` within what both sides mean the same by: names this libseccomp knows
/// (it skips newer ones) except map_shadow_stack (libseccomp gives it i386/x32
/// numbers the kernel does not have), and, when `simple`, one condition per argument
/// with valueTwo inside the mask. libseccomp 2.5.4 differs there: a MASKED_EQ half
/// whose mask is 0 always matches, and range tests of one argument in several rules
/// are mis-merged (arg0 <= 0 OR arg0 > 2^32 matches arg0 = 1).
fn comparable(
    s: &LinuxSeccomp,
    known: &std::collections::HashSet<String>,
    simple: bool,
) -> LinuxSeccomp {
    let mut v = serde_json::to_value(s).unwrap();
    for c in v["syscalls"].as_array_mut().into_iter().flatten() {
        let names: Vec<serde_json::Value> = c["names"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| known.contains(n.as_str().unwrap()) && *n != "map_shadow_stack")
            .cloned()
            .collect();
        c["names"] = names.into();
        if !simple {
            continue;
        }
        if let Some(args) = c["args"].as_array_mut() {
            let mut used = std::collections::HashSet::new();
            args.retain(|a| used.insert(a["index"].as_u64().unwrap()));
            for a in args {
                let masked = a["valueTwo"].as_u64().unwrap_or(0) & a["value"].as_u64().unwrap();
                a["valueTwo"] = masked.into();
            }
        }
    }
    spec(v)
}

#[test]
#[ignore = "needs a C compiler and libseccomp-dev; run with --ignored"]
fn differential_against_libseccomp() {
    let helper = helper();
    let known = libseccomp_names();
    let mut rng = Rng(0xfeed_beef_0000_0042);
    let mut profiles = vec![comparable(&docker(), &known, false)];
    for round in 0..8 {
        // One rule per syscall: where rules overlap, first-match and libseccomp's
        // decision tree may legitimately differ.
        let mut json = random_profile(&mut rng, 40 + round * 10);
        let mut seen = std::collections::HashSet::new();
        let calls: Vec<serde_json::Value> = json["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| seen.insert(c["names"][0].as_str().unwrap().to_string()))
            .cloned()
            .collect();
        json["syscalls"] = calls.into();
        if round % 2 == 1 {
            json["architectures"] = serde_json::json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
        }
        if round % 3 == 2 {
            json["defaultAction"] = "SCMP_ACT_ALLOW".into();
        }
        profiles.push(comparable(&spec(json), &known, true));
    }

    let mut checked = 0;
    for (i, s) in profiles.iter().enumerate() {
        let ours = compile(s).unwrap();
        check(ours.program());
        let theirs = libseccomp_program(&helper, s);
        eprintln!(
            "profile {i}: {} instructions here, {} from libseccomp",
            ours.instructions(),
            theirs.len()
        );
        for arch in [
            Abi::X86_64.audit_arch(),
            Abi::I386.audit_arch(),
            AUDIT_ARCH_AARCH64,
        ] {
            for base in [0, X32_SYSCALL_BIT] {
                for nr in (base..base + 560).chain([base + 0x3fff_ffff, u32::MAX]) {
                    for _ in 0..3 {
                        let args = random_args(&mut rng);
                        let d = Data { nr, arch, args };
                        let (a, b) = (run(ours.program(), &d), run(&theirs, &d));
                        if a == ENOSYS && b != ENOSYS {
                            continue; // runc's stub, applied on top of libseccomp
                        }
                        assert_eq!(a, b, "profile {i} arch {arch:#x} nr {nr:#x} args {args:x?}");
                        checked += 1;
                    }
                }
            }
        }
    }
    eprintln!("{checked} inputs agree");
    let _ = std::fs::remove_dir_all(helper.parent().unwrap());
}
