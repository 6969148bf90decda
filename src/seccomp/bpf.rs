//! Classic-BPF code generation: a [`Plan`] (rules per ABI and syscall number) becomes
//! a seccomp program.
//!
//! Layout:
//! ```text
//!   ld [arch]; jeq AUDIT_ARCH_X86_64 -> x86_64; jeq AUDIT_ARCH_I386 -> i386; ret bad_arch
//! x86_64: ld [nr]; jge X32_SYSCALL_BIT -> x32; <x86_64 tree>
//! x32:    <x32 tree>  (without x32: nr -1 gets the default action, the rest bad_arch)
//! i386:   ld [nr]; <i386 tree>
//! ```
//! Each tree is a binary search (`jge`) over the syscall-number line, cut into
//! segments of equal outcome: runs of syscalls with the same rules, gaps that get the
//! default action, numbers above the profile's largest that get ENOSYS. A lone
//! syscall between two stretches with the same outcome is tested with one `jeq` in a
//! leaf instead (up to four per leaf). Outcomes without conditions are a shared
//! `ret`; a syscall with conditions jumps to its body: its rules in order, then the
//! default action. So 350 plain ALLOW names cost about one `jge` per run of
//! consecutive numbers, and a lookup O(log n) jumps.
//!
//! Conditional jumps have 8-bit offsets; the assembler turns any that would be longer
//! into a short jump to a `ja` (32-bit offset) placed right after it, or to a copy of
//! the `ret` it was headed for.

use super::arch::{Abi, X32_SYSCALL_BIT};
use libc::sock_filter;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub(super) const BPF_LD: u16 = 0x00;
pub(super) const BPF_W: u16 = 0x00;
pub(super) const BPF_ABS: u16 = 0x20;
pub(super) const BPF_ALU: u16 = 0x04;
pub(super) const BPF_AND: u16 = 0x50;
pub(super) const BPF_K: u16 = 0x00;
pub(super) const BPF_JMP: u16 = 0x05;
pub(super) const BPF_JA: u16 = 0x00;
pub(super) const BPF_JEQ: u16 = 0x10;
pub(super) const BPF_JGT: u16 = 0x20;
pub(super) const BPF_JGE: u16 = 0x30;
pub(super) const BPF_RET: u16 = 0x06;

/// BPF_MAXINSNS: the kernel refuses longer programs.
pub(super) const MAX_INSNS: usize = 4096;

/// Offsets in `struct seccomp_data`.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const OFF_ARGS: u32 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    /// `(arg & value) == value_two`.
    MaskedEq,
}

/// One argument comparison, 64-bit (see [`Abi::args_64bit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) struct Cond {
    pub arg: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
}

/// All conditions must hold for `action` (a SECCOMP_RET_* value) to apply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Rule {
    pub conds: Vec<Cond>,
    pub action: u32,
}

pub(super) struct Section {
    pub abi: Abi,
    /// Rules per syscall number, in profile order: the first that matches decides.
    pub syscalls: BTreeMap<u32, Vec<Rule>>,
    /// Numbers above this get `enosys` instead of the default action (runc's stub).
    pub enosys_above: Option<u32>,
}

pub(super) struct Plan {
    pub default: u32,
    pub bad_arch: u32,
    pub enosys: u32,
    pub sections: Vec<Section>,
}

#[derive(Debug)]
pub(super) enum GenError {
    TooLarge(usize),
    /// A bug in the emitter (a label used but never placed, or a backward jump).
    Internal(&'static str),
}

pub(super) fn generate(plan: &Plan) -> Result<Vec<sock_filter>, GenError> {
    let section = |abi| plan.sections.iter().find(|s| s.abi == abi);
    let (x86_64, i386, x32) = (section(Abi::X86_64), section(Abi::I386), section(Abi::X32));
    let mut asm = Asm::default();
    let bad = asm.label();
    let l64 = asm.label();
    let l386 = asm.label();

    asm.ld(OFF_ARCH);
    if x86_64.is_some() || x32.is_some() {
        let next = asm.label();
        asm.jmp(BPF_JEQ, Abi::X86_64.audit_arch(), l64, next);
        asm.mark(next);
    }
    if i386.is_some() {
        let next = asm.label();
        asm.jmp(BPF_JEQ, Abi::I386.audit_arch(), l386, next);
        asm.mark(next);
    }
    asm.ret(plan.bad_arch);

    if x86_64.is_some() || x32.is_some() {
        asm.mark(l64);
        asm.ld(OFF_NR);
        // x32 shares AUDIT_ARCH_X86_64: a number with the x32 bit must never be
        // matched against the x86_64 table (or let through as if it were x86_64).
        let native = asm.label();
        let high = asm.label();
        asm.jmp(BPF_JGE, X32_SYSCALL_BIT, high, native);
        asm.mark(native);
        match x86_64 {
            Some(s) => emit_section(&mut asm, plan, s, 0, X32_SYSCALL_BIT - 1),
            None => asm.ret(plan.bad_arch),
        }
        asm.mark(high);
        match x32 {
            Some(s) => emit_section(&mut asm, plan, s, X32_SYSCALL_BIT, u32::MAX),
            None => {
                // Without x32, only nr -1 (a tracer's "skip this syscall") is not a
                // bad arch; it gets the default action, as with libseccomp.
                let skip = asm.label();
                asm.jmp(BPF_JEQ, u32::MAX, skip, bad);
                asm.mark(skip);
                asm.ret(plan.default);
            }
        }
    }
    if let Some(s) = i386 {
        asm.mark(l386);
        asm.ld(OFF_NR);
        emit_section(&mut asm, plan, s, 0, u32::MAX);
    }
    asm.mark(bad);
    asm.ret(plan.bad_arch);
    asm.assemble()
}

/// The search tree for numbers `lo..=hi` (A holds `nr`), then the bodies with
/// conditions, each followed by the `ret` instructions they share.
fn emit_section(asm: &mut Asm, plan: &Plan, sec: &Section, lo: u32, hi: u32) {
    // Every number where the outcome may change; between two of them it is constant.
    let mut points: BTreeSet<u32> = BTreeSet::from([lo]);
    for &nr in sec.syscalls.keys().filter(|&&n| n >= lo && n <= hi) {
        points.insert(nr);
        if nr < hi {
            points.insert(nr + 1);
        }
    }
    if let Some(max) = sec.enosys_above.filter(|&m| m >= lo && m < hi) {
        points.insert(max + 1);
    }
    let mut rets = Returns::default();
    let mut bodies: HashMap<Vec<Rule>, Label> = HashMap::new();
    let mut pending: Vec<(Label, Vec<Rule>)> = Vec::new();
    let mut segments: Vec<(u32, Label)> = Vec::new();
    for p in points {
        let rules = match sec.syscalls.get(&p) {
            Some(rules) => normalize(rules, plan.default),
            None if sec.enosys_above.is_some_and(|m| p > m) => vec![Rule {
                conds: Vec::new(),
                action: plan.enosys,
            }],
            None => Vec::new(),
        };
        // A body without conditions is a single `ret`, shared by the section.
        let target = match rules.as_slice() {
            [] => rets.get(asm, plan.default),
            [r] if r.conds.is_empty() => rets.get(asm, r.action),
            _ => *bodies.entry(rules.clone()).or_insert_with(|| {
                let l = asm.label();
                pending.push((l, rules));
                l
            }),
        };
        if segments.last().map(|s| s.1) != Some(target) {
            segments.push((p, target));
        }
    }
    emit_tree(asm, &pieces(&segments, hi));
    // The tree's returns right after it, the bodies' after them: jumps only go
    // forward, and both stay short.
    rets.place(asm);
    let mut rets = Returns::default();
    for (label, rules) in pending {
        asm.mark(label);
        emit_rules(asm, sec.abi, &rules, plan.default, &mut rets);
    }
    rets.place(asm);
}

/// Shared `ret` instructions, one per action.
#[derive(Default)]
struct Returns(BTreeMap<u32, Label>);

impl Returns {
    fn get(&mut self, asm: &mut Asm, action: u32) -> Label {
        *self.0.entry(action).or_insert_with(|| asm.label())
    }

    fn place(self, asm: &mut Asm) {
        for (k, label) in self.0 {
            asm.mark(label);
            asm.ret(k);
        }
    }
}

/// Drops rules that cannot change the outcome: those after an unconditional rule,
/// and conditional rules just before the end whose action is what the syscall gets
/// anyway when they do not match.
fn normalize(rules: &[Rule], default: u32) -> Vec<Rule> {
    let mut out = match rules.iter().position(|r| r.conds.is_empty()) {
        Some(i) => rules[..=i].to_vec(),
        None => rules.to_vec(),
    };
    let terminated = out.last().is_some_and(|r| r.conds.is_empty());
    let fallthrough = if terminated {
        out[out.len() - 1].action
    } else {
        default
    };
    let mut end = out.len() - usize::from(terminated);
    while end > 0 && out[end - 1].action == fallthrough {
        out.remove(end - 1);
        end -= 1;
    }
    if out.len() == 1 && out[0].action == default && out[0].conds.is_empty() {
        out.clear(); // the same as the default body
    }
    out
}

/// Where the search tree ends: a range of numbers that mostly go to `background`,
/// except for a few single numbers tested with `jeq`.
struct Piece {
    start: u32,
    background: Label,
    points: Vec<(u32, Label)>,
}

/// Most points a piece tests one after the other (libseccomp uses 4 too).
const PIECE_POINTS: usize = 4;

/// Groups segments (start, target; each ends where the next starts, the last at
/// `hi`) into pieces: a syscall alone between two stretches with the same target
/// costs one `jeq` instead of two levels of the tree.
fn pieces(segs: &[(u32, Label)], hi: u32) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    for (i, &(start, target)) in segs.iter().enumerate() {
        let end = segs.get(i + 1).map_or(hi, |s| s.0 - 1);
        if let Some(piece) = out.last_mut() {
            if start == end && piece.points.len() < PIECE_POINTS {
                piece.points.push((start, target));
                continue;
            }
            if target == piece.background {
                continue;
            }
        }
        out.push(Piece {
            start,
            background: target,
            points: Vec::new(),
        });
    }
    for piece in &mut out {
        // Points going where the background goes need no test.
        let background = piece.background;
        piece.points.retain(|&(_, t)| t != background);
    }
    out
}

/// A binary search over `pieces`; each leaf tests its points, then goes to its
/// background.
fn emit_tree(asm: &mut Asm, pieces: &[Piece]) {
    if let [piece] = pieces {
        for &(n, target) in &piece.points {
            let next = asm.label();
            asm.jmp(BPF_JEQ, n, target, next);
            asm.mark(next);
        }
        asm.ja(piece.background);
        return;
    }
    let (left, right) = pieces.split_at(pieces.len() / 2);
    // A leaf without points needs no code: jump straight to where it goes.
    let target = |asm: &mut Asm, p: &[Piece]| match p {
        [one] if one.points.is_empty() => (one.background, false),
        _ => (asm.label(), true),
    };
    let (lt, left_code) = target(asm, left);
    let (rt, right_code) = target(asm, right);
    asm.jmp(BPF_JGE, right[0].start, rt, lt);
    if left_code {
        asm.mark(lt);
        emit_tree(asm, left);
    }
    if right_code {
        asm.mark(rt);
        emit_tree(asm, right);
    }
}

/// The rules in order: the first whose conditions all hold returns its action; if
/// none does, the default action.
fn emit_rules(asm: &mut Asm, abi: Abi, rules: &[Rule], default: u32, rets: &mut Returns) {
    for (i, rule) in rules.iter().enumerate() {
        let done = rets.get(asm, rule.action);
        if rule.conds.is_empty() {
            asm.ja(done);
            return;
        }
        let next = match i + 1 == rules.len() {
            true => rets.get(asm, default),
            false => asm.label(),
        };
        for (j, c) in rule.conds.iter().enumerate() {
            let ok = match j + 1 == rule.conds.len() {
                true => done,
                false => asm.label(),
            };
            emit_cond(asm, abi, c, ok, next);
            if ok != done {
                asm.mark(ok);
            }
        }
        if i + 1 < rules.len() {
            asm.mark(next);
        }
    }
}

/// Jumps to `ok` when `c` holds, to `fail` otherwise. 64-bit values are compared as
/// (high word, low word): seccomp_data.args[i] is little-endian, the low word at
/// 16 + 8i and the high word at 16 + 8i + 4.
fn emit_cond(asm: &mut Asm, abi: Abi, c: &Cond, ok: Label, fail: Label) {
    let lo_off = OFF_ARGS + 8 * u32::from(c.arg);
    let hi_off = lo_off + 4;
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let (dh, dl) = ((c.value_two >> 32) as u32, c.value_two as u32);
    if c.op == Op::MaskedEq {
        let mut halves = vec![(lo_off, vl, dl)];
        if abi.args_64bit() {
            halves.insert(0, (hi_off, vh, dh));
        }
        // A half with a zero mask needs no test: it always holds, or never does.
        if halves.iter().any(|&(_, mask, want)| mask == 0 && want != 0) {
            asm.ja(fail);
            return;
        }
        halves.retain(|&(_, mask, _)| mask != 0);
        for (i, &(off, mask, want)) in halves.iter().enumerate() {
            let next = match i + 1 == halves.len() {
                true => ok,
                false => asm.label(),
            };
            asm.ld(off);
            if mask != u32::MAX {
                asm.and(mask);
            }
            asm.jmp(BPF_JEQ, want, next, fail);
            if next != ok {
                asm.mark(next);
            }
        }
        if halves.is_empty() {
            asm.ja(ok);
        }
        return;
    }
    if !abi.args_64bit() {
        asm.ld(lo_off);
        match c.op {
            Op::Eq => asm.jmp(BPF_JEQ, vl, ok, fail),
            Op::Ne => asm.jmp(BPF_JEQ, vl, fail, ok),
            Op::Gt => asm.jmp(BPF_JGT, vl, ok, fail),
            Op::Ge => asm.jmp(BPF_JGE, vl, ok, fail),
            Op::Lt => asm.jmp(BPF_JGE, vl, fail, ok),
            Op::Le => asm.jmp(BPF_JGT, vl, fail, ok),
            Op::MaskedEq => unreachable!("handled above"),
        }
        return;
    }
    let low = asm.label();
    asm.ld(hi_off);
    if matches!(c.op, Op::Eq | Op::Ne) {
        let (t, f) = if c.op == Op::Eq {
            (ok, fail)
        } else {
            (fail, ok)
        };
        asm.jmp(BPF_JEQ, vh, low, f);
        asm.mark(low);
        asm.ld(lo_off);
        asm.jmp(BPF_JEQ, vl, t, f);
    } else {
        // Greater/GreaterEqual decide "ok"; Less/LessEqual are their negations.
        let (t, f) = match c.op {
            Op::Gt | Op::Ge => (ok, fail),
            _ => (fail, ok),
        };
        let code = match c.op {
            Op::Gt | Op::Le => BPF_JGT,
            _ => BPF_JGE,
        };
        let eq = asm.label();
        asm.jmp(BPF_JGT, vh, t, eq);
        asm.mark(eq);
        asm.jmp(BPF_JEQ, vh, low, f);
        asm.mark(low);
        asm.ld(lo_off);
        asm.jmp(code, vl, t, f);
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Label(usize);

/// The BPF offset from the instruction at `from` to label `l` (forward only).
fn offset(at: &[usize], l: Label, from: usize) -> Result<u32, GenError> {
    match at[l.0] {
        usize::MAX => Err(GenError::Internal("label never placed")),
        t if t <= from => Err(GenError::Internal("backward jump")),
        t => u32::try_from(t - from - 1).map_err(|_| GenError::TooLarge(t)),
    }
}

enum Item {
    Insn(sock_filter),
    /// A conditional jump; `long_*` once that branch goes through a trampoline.
    Jump {
        code: u16,
        k: u32,
        jt: Label,
        jf: Label,
        long_t: bool,
        long_f: bool,
    },
    Ja(Label),
    Mark(Label),
}

#[derive(Default)]
struct Asm {
    items: Vec<Item>,
    labels: usize,
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }
    fn mark(&mut self, l: Label) {
        self.items.push(Item::Mark(l));
    }
    fn ld(&mut self, off: u32) {
        self.items
            .push(Item::Insn(insn(BPF_LD | BPF_W | BPF_ABS, 0, 0, off)));
    }
    fn and(&mut self, k: u32) {
        self.items
            .push(Item::Insn(insn(BPF_ALU | BPF_AND | BPF_K, 0, 0, k)));
    }
    fn ret(&mut self, k: u32) {
        self.items.push(Item::Insn(insn(BPF_RET | BPF_K, 0, 0, k)));
    }
    fn ja(&mut self, l: Label) {
        self.items.push(Item::Ja(l));
    }
    fn jmp(&mut self, op: u16, k: u32, jt: Label, jf: Label) {
        self.items.push(Item::Jump {
            code: BPF_JMP | op | BPF_K,
            k,
            jt,
            jf,
            long_t: false,
            long_f: false,
        });
    }

    /// Lays the program out, adding trampolines until every conditional jump fits in
    /// 8 bits (each added trampoline only lengthens jumps, so this terminates), then
    /// resolves labels.
    fn assemble(mut self) -> Result<Vec<sock_filter>, GenError> {
        let mut at = vec![usize::MAX; self.labels];
        let mut item_at = vec![0; self.items.len()];
        loop {
            let mut pos = 0;
            for (item, p) in self.items.iter().zip(item_at.iter_mut()) {
                *p = pos;
                match *item {
                    Item::Mark(l) => at[l.0] = pos,
                    Item::Insn(_) | Item::Ja(_) => pos += 1,
                    Item::Jump { long_t, long_f, .. } => {
                        pos += 1 + usize::from(long_t) + usize::from(long_f)
                    }
                }
            }
            // Positions are those of this layout; flags set now take effect next round.
            let mut changed = false;
            for (item, &p) in self.items.iter_mut().zip(&item_at) {
                if let Item::Jump {
                    jt,
                    jf,
                    long_t,
                    long_f,
                    ..
                } = item
                {
                    let dist = |l: Label| at[l.0].wrapping_sub(p + 1);
                    if !*long_t && dist(*jt) > 255 {
                        *long_t = true;
                        changed = true;
                    }
                    if !*long_f && dist(*jf) > 255 {
                        *long_f = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }

        // Labels that sit on a `ret`: a jump there that needs a trampoline (or an
        // unconditional jump) gets a copy of the `ret` instead, same size, one
        // instruction less to run.
        let mut ret_at: Vec<Option<u32>> = vec![None; self.labels];
        let mut marks = Vec::new();
        for item in &self.items {
            match *item {
                Item::Mark(l) => marks.push(l),
                Item::Insn(i) if i.code == BPF_RET | BPF_K => {
                    marks.drain(..).for_each(|l| ret_at[l.0] = Some(i.k))
                }
                _ => marks.clear(),
            }
        }
        let far = |l: Label, from: usize| -> Result<sock_filter, GenError> {
            Ok(match ret_at[l.0] {
                Some(k) => insn(BPF_RET | BPF_K, 0, 0, k),
                None => insn(BPF_JMP | BPF_JA, 0, 0, offset(&at, l, from)?),
            })
        };

        let mut out = Vec::new();
        for item in &self.items {
            let p = out.len();
            match *item {
                Item::Mark(_) => {}
                Item::Insn(i) => out.push(i),
                Item::Ja(l) => out.push(far(l, p)?),
                Item::Jump {
                    code,
                    k,
                    jt,
                    jf,
                    long_t,
                    long_f,
                } => {
                    let short = |l: Label| -> Result<u8, GenError> {
                        u8::try_from(offset(&at, l, p)?)
                            .map_err(|_| GenError::Internal("jump too long"))
                    };
                    let t = if long_t { 0 } else { short(jt)? };
                    let f = if long_f { u8::from(long_t) } else { short(jf)? };
                    out.push(insn(code, t, f, k));
                    if long_t {
                        out.push(far(jt, p + 1)?);
                    }
                    if long_f {
                        out.push(far(jf, p + 1 + usize::from(long_t))?);
                    }
                }
            }
        }
        if out.len() > MAX_INSNS {
            return Err(GenError::TooLarge(out.len()));
        }
        Ok(out)
    }
}
