//! Compiles profiles and runs the programs through a classic-BPF interpreter over
//! crafted `seccomp_data`, comparing with a direct evaluation of the profile.

use super::arch::{self, Abi, X32_SYSCALL_BIT};
use super::bpf::*;
use super::*;
use oci_spec::runtime::LinuxSeccomp;

const EPERM: u32 = RET_ERRNO | 1;
const ENOSYS: u32 = RET_ERRNO | 38;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

#[derive(Clone, Copy, Debug)]
struct Data {
    nr: u32,
    arch: u32,
    args: [u64; 6],
}

fn data(abi: Abi, nr: u32, args: [u64; 6]) -> Data {
    Data {
        nr,
        arch: abi.audit_arch(),
        args,
    }
}

/// The kernel's static checks (bpf_check_classic + seccomp_check_filter) for the
/// subset we emit: known opcodes, aligned loads inside seccomp_data, jumps in range,
/// a final RET.
fn check(prog: &[libc::sock_filter]) {
    assert!(!prog.is_empty() && prog.len() <= MAX_INSNS);
    for (pc, i) in prog.iter().enumerate() {
        let next = pc + 1;
        match i.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => assert!(i.k < 64 && i.k % 4 == 0, "load at {pc}"),
            c if c == BPF_ALU | BPF_AND | BPF_K || c == BPF_RET | BPF_K => {}
            c if c == BPF_JMP | BPF_JA => assert!(next + (i.k as usize) < prog.len(), "ja at {pc}"),
            c if c & 0x07 == BPF_JMP => {
                let far = next + usize::from(i.jt.max(i.jf));
                assert!(far < prog.len(), "jump at {pc}");
            }
            c => panic!("unexpected opcode {c:#x} at {pc}"),
        }
    }
    assert_eq!(prog.last().unwrap().code, BPF_RET | BPF_K);
}

/// Runs `prog` on `d` like the kernel would; returns the SECCOMP_RET_* value.
fn run(prog: &[libc::sock_filter], d: &Data) -> u32 {
    let mut mem = [0u8; 64];
    mem[0..4].copy_from_slice(&d.nr.to_le_bytes());
    mem[4..8].copy_from_slice(&d.arch.to_le_bytes());
    for (i, a) in d.args.iter().enumerate() {
        mem[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
    loop {
        let i = prog[pc];
        pc += 1;
        let cond = |taken: bool| usize::from(if taken { i.jt } else { i.jf });
        match i.code {
            0x20 => {
                let k = i.k as usize;
                a = u32::from_le_bytes(mem[k..k + 4].try_into().unwrap());
            }
            0x00 => a = i.k,            // LD|IMM
            0x54 => a &= i.k,           // ALU|AND|K
            0x05 => pc += i.k as usize, // JMP|JA
            0x15 => pc += cond(a == i.k),
            0x25 => pc += cond(a > i.k),
            0x35 => pc += cond(a >= i.k),
            0x45 => pc += cond(a & i.k != 0),
            0x06 => return i.k, // RET|K
            0x07 => x = a,      // MISC|TAX
            0x87 => a = x,      // MISC|TXA
            c => panic!("opcode {c:#x}"),
        }
    }
}

fn spec(json: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(json).expect("profile JSON")
}

fn filter(json: serde_json::Value) -> Filter {
    let f = compile(&spec(json)).expect("compile");
    check(f.program());
    f
}

fn eval(f: &Filter, abi: Abi, name: &str, args: [u64; 6]) -> u32 {
    let nr = abi
        .lookup(name)
        .unwrap_or_else(|| panic!("{name} on {abi:?}"));
    run(f.program(), &data(abi, nr, args))
}

/// What the profile says for (abi, nr, args), evaluated directly from the spec.
fn expected(s: &LinuxSeccomp, abi: Abi, nr: u32, args: [u64; 6]) -> u32 {
    let default = action(s.default_action(), s.default_errno_ret(), "").unwrap();
    let listed: Vec<Abi> = s
        .architectures()
        .iter()
        .flatten()
        .filter_map(|a| Abi::from_spec(*a))
        .collect();
    if abi != Abi::X86_64 && !listed.contains(&abi) {
        return RET_KILL_PROCESS; // not in the filter: bad arch
    }
    for sc in s.syscalls().iter().flatten() {
        let act = action(sc.action(), sc.errno_ret(), "").unwrap();
        let direct = sc.names().iter().any(|n| abi.lookup(n) == Some(nr));
        // i386: socket/IPC calls are also reached through socketcall(2)/ipc(2).
        let muxed = abi == Abi::I386
            && sc.names().iter().any(|n| {
                arch::i386_multiplexed(n).is_some_and(|(m, call)| m == nr && args[0] as u32 == call)
            });
        if act == default || !(direct || muxed) {
            continue;
        }
        let conds = sc.args().clone().unwrap_or_default();
        let holds = |a: &oci_spec::runtime::LinuxSeccompArg| {
            let (mut v, mut arg, mut two) =
                (a.value(), args[a.index()], a.value_two().unwrap_or(0));
            if !abi.args_64bit() {
                (v, arg, two) = (v as u32 as u64, arg as u32 as u64, two as u32 as u64);
            }
            match a.op() {
                Operator::ScmpCmpNe => arg != v,
                Operator::ScmpCmpLt => arg < v,
                Operator::ScmpCmpLe => arg <= v,
                Operator::ScmpCmpEq => arg == v,
                Operator::ScmpCmpGe => arg >= v,
                Operator::ScmpCmpGt => arg > v,
                Operator::ScmpCmpMaskedEq => arg & v == two,
            }
        };
        let mut idx: Vec<usize> = conds.iter().map(|a| a.index()).collect();
        idx.sort();
        let hit = if idx.windows(2).any(|w| w[0] == w[1]) {
            conds.iter().any(holds) // runc: the same argument twice means OR
        } else {
            conds.iter().all(holds)
        };
        if hit {
            return act;
        }
    }
    // runc's stub: numbers above every one the profile names on a listed ABI.
    let stub = !matches!(
        s.default_action(),
        Action::ScmpActAllow | Action::ScmpActLog | Action::ScmpActTrace
    );
    let max = s
        .syscalls()
        .iter()
        .flatten()
        .flat_map(|sc| sc.names())
        .filter_map(|n| abi.lookup(n))
        .max();
    if stub && listed.contains(&abi) && max.is_some_and(|m| nr > m) {
        return ENOSYS;
    }
    default
}

#[test]
fn arch_mismatch_is_killed() {
    let f = filter(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    let d = Data {
        nr: 0,
        arch: AUDIT_ARCH_AARCH64,
        args: [0; 6],
    };
    assert_eq!(run(f.program(), &d), RET_KILL_PROCESS);
    // i386 is not in the filter unless listed.
    assert_eq!(
        run(f.program(), &data(Abi::I386, 20, [0; 6])),
        RET_KILL_PROCESS
    );
    assert_eq!(run(f.program(), &data(Abi::X86_64, 20, [0; 6])), RET_ALLOW);
    // Listing another architecture adds nothing, but is accepted.
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    }));
    assert_eq!(run(f.program(), &d), RET_KILL_PROCESS);
    assert_eq!(run(f.program(), &data(Abi::X86_64, 20, [0; 6])), RET_ALLOW);
}

#[test]
fn actions_and_default() {
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 13,
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["kill"], "action": "SCMP_ACT_KILL"},
            {"names": ["tkill"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["tgkill"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["uname"], "action": "SCMP_ACT_TRAP"},
            {"names": ["ptrace"], "action": "SCMP_ACT_TRACE"},
            {"names": ["wait4"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["open"], "action": "SCMP_ACT_LOG"},
            {"names": ["ioctl"], "action": "SCMP_ACT_NOTIFY"},
        ],
    }));
    let x = |n| eval(&f, Abi::X86_64, n, [0; 6]);
    assert_eq!(x("read"), RET_ALLOW);
    assert_eq!(x("write"), RET_ALLOW);
    assert_eq!(x("getppid"), RET_ERRNO | 38);
    assert_eq!(x("getpid"), EPERM);
    assert_eq!(x("kill"), RET_KILL_THREAD);
    assert_eq!(x("tkill"), RET_KILL_THREAD);
    assert_eq!(x("tgkill"), RET_KILL_PROCESS);
    assert_eq!(x("uname"), RET_TRAP);
    assert_eq!(x("ptrace"), RET_TRACE | 1);
    assert_eq!(x("wait4"), RET_TRACE | 7);
    assert_eq!(x("open"), RET_LOG);
    assert_eq!(x("ioctl"), RET_USER_NOTIF);
    assert_eq!(x("close"), RET_ERRNO | 13);
    // No architectures listed: no ENOSYS stub, numbers above the profile's get the default.
    assert_eq!(
        run(f.program(), &data(Abi::X86_64, 1000, [0; 6])),
        RET_ERRNO | 13
    );
    assert!(f.needs_listener());
    assert_eq!(f.flags(), FLAG_NEW_LISTENER);
}

fn arg_rule(op: &str, value: u64, two: Option<u64>) -> serde_json::Value {
    let mut arg = serde_json::json!({"index": 1, "value": value, "op": op});
    if let Some(t) = two {
        arg["valueTwo"] = t.into();
    }
    serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "args": [arg]}],
    })
}

#[test]
fn argument_operators_64bit() {
    const BIG: u64 = 0x0000_0001_0000_0005; // above 2^32
    let probes = [
        0,
        4,
        5,
        6,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0004,
        BIG,
        0x1_0000_0006,
        0x2_0000_0000,
        0x2_0000_0005,
        u64::MAX,
    ];
    type Holds = fn(u64) -> bool;
    let cases: [(&str, Holds); 6] = [
        ("SCMP_CMP_EQ", |a| a == BIG),
        ("SCMP_CMP_NE", |a| a != BIG),
        ("SCMP_CMP_LT", |a| a < BIG),
        ("SCMP_CMP_LE", |a| a <= BIG),
        ("SCMP_CMP_GE", |a| a >= BIG),
        ("SCMP_CMP_GT", |a| a > BIG),
    ];
    for (op, want) in cases {
        let f = filter(arg_rule(op, BIG, None));
        for p in probes {
            let got = eval(&f, Abi::X86_64, "getppid", [0, p, 0, 0, 0, 0]);
            let exp = if want(p) { EPERM } else { RET_ALLOW };
            assert_eq!(got, exp, "{op} arg={p:#x}");
        }
    }
    // MASKED_EQ: (arg & value) == valueTwo, with bits in both halves.
    let (mask, two) = (0x0000_00f0_0000_ff00, 0x0000_0010_0000_1200);
    let f = filter(arg_rule("SCMP_CMP_MASKED_EQ", mask, Some(two)));
    for p in [
        0u64,
        two,
        two | 0xffff_0000_00ff,
        0x0000_0020_0000_1200,
        0x0000_0010_0000_1300,
        u64::MAX,
    ] {
        let got = eval(&f, Abi::X86_64, "getppid", [0, p, 0, 0, 0, 0]);
        let exp = if p & mask == two { EPERM } else { RET_ALLOW };
        assert_eq!(got, exp, "masked {p:#x}");
    }
    // Other argument slots are not looked at.
    let f = filter(arg_rule("SCMP_CMP_EQ", 7, None));
    assert_eq!(
        eval(&f, Abi::X86_64, "getppid", [7, 0, 7, 7, 7, 7]),
        RET_ALLOW
    );
    assert_eq!(eval(&f, Abi::X86_64, "getppid", [0, 7, 0, 0, 0, 0]), EPERM);
}

#[test]
fn argument_operators_32bit_abis_compare_low_word() {
    // A 64-bit value on i386 or x32: only its low word counts (as in libseccomp).
    let f = filter(arg_rule("SCMP_CMP_EQ", 0x1_0000_0005, None));
    for abi in [Abi::I386, Abi::X32] {
        assert_eq!(eval(&f, abi, "getppid", [0, 5, 0, 0, 0, 0]), EPERM);
        assert_eq!(
            eval(&f, abi, "getppid", [0, 0x7_0000_0005, 0, 0, 0, 0]),
            EPERM
        );
        assert_eq!(eval(&f, abi, "getppid", [0, 6, 0, 0, 0, 0]), RET_ALLOW);
    }
    assert_eq!(
        eval(&f, Abi::X86_64, "getppid", [0, 5, 0, 0, 0, 0]),
        RET_ALLOW
    );
    let f = filter(arg_rule("SCMP_CMP_GT", 10, None));
    assert_eq!(eval(&f, Abi::I386, "getppid", [0, 11, 0, 0, 0, 0]), EPERM);
    assert_eq!(
        eval(&f, Abi::I386, "getppid", [0, 10, 0, 0, 0, 0]),
        RET_ALLOW
    );
    let f = filter(arg_rule("SCMP_CMP_LE", 10, None));
    assert_eq!(eval(&f, Abi::I386, "getppid", [0, 10, 0, 0, 0, 0]), EPERM);
    assert_eq!(
        eval(&f, Abi::I386, "getppid", [0, 11, 0, 0, 0, 0]),
        RET_ALLOW
    );
    let f = filter(arg_rule("SCMP_CMP_MASKED_EQ", 0xf0, Some(0x30)));
    assert_eq!(eval(&f, Abi::I386, "getppid", [0, 0x3f, 0, 0, 0, 0]), EPERM);
    assert_eq!(
        eval(&f, Abi::I386, "getppid", [0, 0x4f, 0, 0, 0, 0]),
        RET_ALLOW
    );
}

#[test]
fn rules_and_or_and_order() {
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            // Two different args: ANDed.
            {"names": ["mmap"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                {"index": 2, "value": 3, "op": "SCMP_CMP_EQ"}]},
            // The same arg twice: runc splits them into alternatives.
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            // First matching rule wins; the unconditional one catches the rest.
            {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 25, "args": [
                {"index": 1, "value": 0x5401, "op": "SCMP_CMP_EQ"}]},
            {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ioctl"], "action": "SCMP_ACT_KILL"},
            // A rule with the default action is dropped (runc), so it shadows nothing.
            {"names": ["fcntl"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["fcntl"], "action": "SCMP_ACT_ALLOW"},
        ],
    }));
    let x = |n, args| eval(&f, Abi::X86_64, n, args);
    assert_eq!(x("mmap", [1, 0, 3, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x("mmap", [1, 0, 4, 0, 0, 0]), EPERM);
    assert_eq!(x("mmap", [2, 0, 3, 0, 0, 0]), EPERM);
    assert_eq!(x("personality", [0; 6]), RET_ALLOW);
    assert_eq!(x("personality", [8, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x("personality", [9, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(x("ioctl", [0, 0x5401, 0, 0, 0, 0]), RET_ERRNO | 25);
    assert_eq!(x("ioctl", [0, 0x5402, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x("fcntl", [0; 6]), RET_ALLOW);
}

#[test]
fn x32_numbers_on_the_x86_64_arch() {
    let profile = |arches: serde_json::Value| {
        serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": arches,
            "syscalls": [{"names": ["read", "rt_sigaction", "map_shadow_stack"], "action": "SCMP_ACT_ALLOW"}],
        })
    };
    // x86_64 only: any number with the x32 bit is a foreign ABI.
    let f = filter(profile(serde_json::json!(["SCMP_ARCH_X86_64"])));
    assert_eq!(eval(&f, Abi::X86_64, "read", [0; 6]), RET_ALLOW);
    for nr in [
        X32_SYSCALL_BIT,
        X32_SYSCALL_BIT + 13,
        X32_SYSCALL_BIT + 512,
        u32::MAX - 1,
    ] {
        assert_eq!(
            run(f.program(), &data(Abi::X86_64, nr, [0; 6])),
            RET_KILL_PROCESS,
            "{nr:#x}"
        );
    }
    // Except nr -1, a tracer's "skip": the default action, as with libseccomp.
    assert_eq!(
        run(f.program(), &data(Abi::X86_64, u32::MAX, [0; 6])),
        EPERM
    );
    // With x32: x32 numbers use the x32 table, never the x86_64 one.
    let f = filter(profile(serde_json::json!([
        "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X32"
    ])));
    assert_eq!(eval(&f, Abi::X32, "read", [0; 6]), RET_ALLOW);
    assert_eq!(eval(&f, Abi::X32, "rt_sigaction", [0; 6]), RET_ALLOW); // x32 512
                                                                       // x86_64's rt_sigaction (13) with the x32 bit is not an allowed x32 syscall.
    assert_eq!(
        run(f.program(), &data(Abi::X32, X32_SYSCALL_BIT + 13, [0; 6])),
        EPERM
    );
    // map_shadow_stack is x86_64-only: allowed there, nothing on x32.
    assert_eq!(eval(&f, Abi::X86_64, "map_shadow_stack", [0; 6]), RET_ALLOW);
    assert_eq!(
        run(f.program(), &data(Abi::X32, X32_SYSCALL_BIT + 453, [0; 6])),
        EPERM
    );
    // Above the largest x32 number named: ENOSYS (runc's stub).
    assert_eq!(
        run(f.program(), &data(Abi::X32, X32_SYSCALL_BIT + 600, [0; 6])),
        ENOSYS
    );
    // x32 alone: the native x86_64 ABI is still in the filter (as with libseccomp).
    let f = filter(profile(serde_json::json!(["SCMP_ARCH_X32"])));
    assert_eq!(eval(&f, Abi::X86_64, "read", [0; 6]), RET_ALLOW);
    assert_eq!(eval(&f, Abi::X32, "read", [0; 6]), RET_ALLOW);
}

#[test]
fn names_per_abi() {
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        // chown32 is i386-only, arch_prctl exists on both, recv on neither (ARM, ...).
        "syscalls": [{"names": ["chown32", "arch_prctl", "recv", "getpid"], "action": "SCMP_ACT_ALLOW"}],
    }));
    assert_eq!(eval(&f, Abi::I386, "chown32", [0; 6]), RET_ALLOW);
    assert_eq!(eval(&f, Abi::I386, "arch_prctl", [0; 6]), RET_ALLOW);
    assert_eq!(eval(&f, Abi::X86_64, "arch_prctl", [0; 6]), RET_ALLOW);
    assert_eq!(eval(&f, Abi::I386, "getpid", [0; 6]), RET_ALLOW);
    // Numbers are per ABI: 20 is getpid on i386 but writev on x86_64.
    assert_eq!(eval(&f, Abi::I386, "getppid", [0; 6]), EPERM);
    assert_eq!(run(f.program(), &data(Abi::X86_64, 20, [0; 6])), EPERM);
    // recv exists on i386 only through socketcall(SYS_RECV = 10).
    let socketcall = |call| {
        run(
            f.program(),
            &data(Abi::I386, arch::I386_SOCKETCALL, [call, 0, 0, 0, 0, 0]),
        )
    };
    assert_eq!(socketcall(10), RET_ALLOW);
    assert_eq!(socketcall(9), EPERM);
}

#[test]
fn i386_multiplexers_follow_the_calls_they_carry() {
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86"],
        "syscalls": [
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]},
            {"names": ["shmget"], "action": "SCMP_ACT_ERRNO"},
        ],
    }));
    let i386 = |nr, args| run(f.program(), &data(Abi::I386, nr, args));
    // The direct syscall.
    assert_eq!(
        eval(&f, Abi::I386, "socket", [40, 0, 0, 0, 0, 0]),
        RET_ERRNO | 97
    );
    assert_eq!(eval(&f, Abi::I386, "socket", [2, 0, 0, 0, 0, 0]), RET_ALLOW);
    // socketcall(SYS_SOCKET = 1, ...): the selector and the rule's own condition, on
    // the same first argument (libseccomp keeps the indices as they are).
    assert_eq!(i386(arch::I386_SOCKETCALL, [1, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(i386(arch::I386_SOCKETCALL, [2, 0, 0, 0, 0, 0]), RET_ALLOW);
    // ipc(SHMGET = 23, ...) is denied like shmget itself; other IPC calls are not.
    assert_eq!(i386(arch::I386_IPC, [23, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(i386(arch::I386_IPC, [22, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(eval(&f, Abi::I386, "shmget", [0; 6]), EPERM);
    // x86_64 has no multiplexers.
    assert_eq!(eval(&f, Abi::X86_64, "shmget", [0; 6]), EPERM);
}

#[test]
fn errors_name_the_field() {
    let err = |json: serde_json::Value| compile(&spec(json)).unwrap_err().to_string();
    let mut calls: Vec<serde_json::Value> = (0..3)
        .map(|_| serde_json::json!({"names": ["read"], "action": "SCMP_ACT_ALLOW"}))
        .collect();
    calls.push(serde_json::json!({"names": ["foo"], "action": "SCMP_ACT_ALLOW"}));
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": calls})),
        "linux.seccomp.syscalls[3].names[0]: unknown syscall \"foo\""
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 5}]})),
        "linux.seccomp.syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_ALLOW"
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_KILL", "defaultErrnoRet": 1})),
        "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not SCMP_ACT_KILL"
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})),
        "linux.seccomp.defaultErrnoRet: 70000 does not fit the 16-bit SECCOMP_RET_DATA"
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
                "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]})),
        "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (syscall arguments are 0-5)"
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_NOTIFY"})),
        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_NOTIFY"}]})),
        "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY cannot be used for the write syscall"
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})),
        "linux.seccomp.flags[0]: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs a SCMP_ACT_NOTIFY rule"
    );
    assert_eq!(
        err(serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": [""], "action": "SCMP_ACT_ERRNO"}]})),
        "linux.seccomp.syscalls[0].names[0]: empty syscall name"
    );
    // Unknown flags never reach us: the typed spec refuses them when parsing.
    assert!(serde_json::from_value::<LinuxSeccomp>(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"]}))
    .is_err());
}

#[test]
fn flags_pass_through() {
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
    }));
    assert_eq!(f.flags(), FLAG_TSYNC | FLAG_LOG | FLAG_SPEC_ALLOW);
    assert!(!f.needs_listener());
    let f = filter(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}],
    }));
    assert_eq!(
        f.flags(),
        FLAG_TSYNC | FLAG_TSYNC_ESRCH | FLAG_NEW_LISTENER | FLAG_WAIT_KILLABLE_RECV
    );
    assert!(f.needs_listener());
}

fn docker() -> LinuxSeccomp {
    serde_json::from_str(include_str!("../testdata/docker.json")).expect("docker.json")
}

#[test]
fn docker_default_profile() {
    let s = docker();
    let f = compile(&s).expect("compile docker profile");
    check(f.program());
    eprintln!("docker-like profile: {} instructions", f.instructions());
    assert!(f.instructions() < MAX_INSNS);
    let allowed = &s.syscalls().as_ref().unwrap()[0];
    assert!(allowed.names().len() > 300);
    for abi in Abi::ALL {
        for name in allowed.names() {
            if let Some(nr) = abi.lookup(name) {
                let got = run(f.program(), &data(abi, nr, [u64::MAX; 6]));
                assert_eq!(got, RET_ALLOW, "{name} on {abi:?}");
            }
        }
    }
    let x = |n, args| eval(&f, Abi::X86_64, n, args);
    for unlisted in [
        "mount",
        "reboot",
        "kexec_load",
        "init_module",
        "unshare",
        "setns",
    ] {
        assert_eq!(x(unlisted, [0; 6]), EPERM, "{unlisted}");
        assert_eq!(
            eval(&f, Abi::I386, unlisted, [0; 6]),
            EPERM,
            "{unlisted} i386"
        );
    }
    assert_eq!(x("clone3", [0; 6]), ENOSYS);
    assert_eq!(x("socket", [1, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x("socket", [40, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(x("personality", [0xffff_ffff, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x("personality", [1, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(x("clone", [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(x("clone", [libc::CLONE_NEWNS as u64, 0, 0, 0, 0, 0]), EPERM);
    // Numbers past everything the profile names (syscalls newer than it): ENOSYS.
    for abi in Abi::ALL {
        let base = if abi == Abi::X32 { X32_SYSCALL_BIT } else { 0 };
        assert_eq!(
            run(f.program(), &data(abi, base + 600, [0; 6])),
            ENOSYS,
            "{abi:?}"
        );
        assert_eq!(
            run(f.program(), &data(abi, base + 0x3fff_0000, [0; 6])),
            ENOSYS,
            "{abi:?}"
        );
    }
    // Everything agrees with a direct evaluation of the profile.
    for abi in Abi::ALL {
        let base = if abi == Abi::X32 { X32_SYSCALL_BIT } else { 0 };
        for nr in (base..base + 600).chain([base + 100_000]) {
            for args in [
                [0; 6],
                [40, 1, 2, 3, 4, 5],
                [u64::MAX; 6],
                [8, 0, 0, 0, 0, 0],
            ] {
                let want = expected(&s, abi, nr, args);
                assert_eq!(
                    run(f.program(), &data(abi, nr, args)),
                    want,
                    "{abi:?} {nr:#x} {args:?}"
                );
            }
        }
    }
}

#[test]
fn runtime_tools_default_profile() {
    // oci-runtime-tool's generated default, with every capability-dependent group.
    let s: LinuxSeccomp =
        serde_json::from_str(include_str!("../testdata/runtime-tools.json")).expect("json");
    let f = compile(&s).expect("compile runtime-tools profile");
    check(f.program());
    eprintln!("runtime-tools profile: {} instructions", f.instructions());
    assert!(f.instructions() < MAX_INSNS);
    for abi in Abi::ALL {
        let base = if abi == Abi::X32 { X32_SYSCALL_BIT } else { 0 };
        for nr in base..base + 600 {
            for args in [[0; 6], [8, 0, 0, 0, 0, 0], [u64::MAX; 6]] {
                let want = expected(&s, abi, nr, args);
                assert_eq!(
                    run(f.program(), &data(abi, nr, args)),
                    want,
                    "{abi:?} {nr:#x}"
                );
            }
        }
    }
    assert_eq!(eval(&f, Abi::X86_64, "mount", [0; 6]), RET_ALLOW);
    assert_eq!(eval(&f, Abi::X86_64, "kexec_load", [0; 6]), EPERM);
}

mod generated;
mod install;
mod libseccomp;
