//! Generated profiles: many syscalls with varied actions and conditions, checked
//! against a direct evaluation of the profile, and the size limit.

use super::*;

/// xorshift64*: deterministic pseudo-random numbers for generated profiles.
pub(super) struct Rng(pub(super) u64);
impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const OPS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];
pub(super) const VALUES: [u64; 6] = [0, 1, 40, 0xffff_ffff, 0x1_0000_0000, 0xdead_0000_beef];

/// Arguments near the values profiles compare with (off by one either way, too).
pub(super) fn random_args(rng: &mut Rng) -> [u64; 6] {
    [0; 6].map(|_: u64| {
        let v = VALUES[rng.below(6) as usize];
        match rng.below(4) {
            0 => v.wrapping_add(rng.below(3)).wrapping_sub(1),
            _ => v,
        }
    })
}

/// A profile of many syscalls with varied actions and conditions: large bodies and a
/// deep tree, so the program needs long jumps.
pub(super) fn random_profile(rng: &mut Rng, count: usize) -> serde_json::Value {
    let names: Vec<&str> = super::syscalls::X86_64.iter().map(|(n, _)| *n).collect();
    let actions = [
        "SCMP_ACT_ALLOW",
        "SCMP_ACT_ERRNO",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
        "SCMP_ACT_KILL_PROCESS",
    ];
    let mut calls = Vec::new();
    for _ in 0..count {
        let name = names[rng.below(names.len() as u64) as usize];
        let action = actions[rng.below(actions.len() as u64) as usize];
        let mut rule = serde_json::json!({"names": [name], "action": action});
        if action == "SCMP_ACT_ERRNO" {
            rule["errnoRet"] = (1 + rng.below(100)).into();
        }
        let nargs = rng.below(4);
        let args: Vec<serde_json::Value> = (0..nargs)
            .map(|_| {
                serde_json::json!({
                    "index": rng.below(6),
                    "value": VALUES[rng.below(6) as usize],
                    "valueTwo": VALUES[rng.below(6) as usize],
                    "op": OPS[rng.below(7) as usize],
                })
            })
            .collect();
        if !args.is_empty() {
            rule["args"] = args.into();
        }
        calls.push(rule);
    }
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": calls,
    })
}

#[test]
fn generated_profiles_match_direct_evaluation() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut saw_long_jump = false;
    for round in 0..6 {
        let json = random_profile(&mut rng, 60 + round * 25);
        let s = spec(json);
        let f = match compile(&s) {
            Ok(f) => f,
            Err(SeccompError::TooLarge(_)) => continue,
            Err(e) => panic!("{e}"),
        };
        check(f.program());
        saw_long_jump |= f
            .program()
            .iter()
            .any(|i| i.code == BPF_JMP | BPF_JA && i.k > 255);
        for abi in Abi::ALL {
            let base = if abi == Abi::X32 { X32_SYSCALL_BIT } else { 0 };
            for nr in base..base + 560 {
                for _ in 0..4 {
                    let args = random_args(&mut rng);
                    let want = expected(&s, abi, nr, args);
                    let got = run(f.program(), &data(abi, nr, args));
                    assert_eq!(got, want, "round {round} {abi:?} nr {nr:#x} args {args:x?}");
                }
            }
        }
    }
    assert!(saw_long_jump, "no generated program needed a long jump");
}

#[test]
fn too_large_is_an_error() {
    // Every syscall with its own six-argument rule: far beyond 4096 instructions.
    let calls: Vec<serde_json::Value> = super::syscalls::X86_64
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let args: Vec<serde_json::Value> = (0..6)
                .map(|a| serde_json::json!({"index": a, "value": (i * 7 + a) as u64 + (1 << 40), "op": "SCMP_CMP_EQ"}))
                .collect();
            serde_json::json!({"names": [name], "action": "SCMP_ACT_ALLOW", "args": args})
        })
        .collect();
    let e = compile(&spec(
        serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": calls}),
    ))
    .unwrap_err();
    assert!(
        matches!(e, SeccompError::TooLarge(n) if n > MAX_INSNS),
        "{e}"
    );
    assert!(e
        .to_string()
        .starts_with("linux.seccomp: the filter compiles to"));
}
