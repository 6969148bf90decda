//! The syscall ABIs an x86_64 kernel runs, and how profile names map onto them.
//!
//! A seccomp filter sees `seccomp_data.arch` (an AUDIT_ARCH_* value) and `nr`. x86_64
//! and x32 share AUDIT_ARCH_X86_64; x32 numbers carry `__X32_SYSCALL_BIT`. Other
//! architectures (aarch64, arm, mips, ppc, s390, riscv...) cannot run on this host, so
//! they get no section: their AUDIT_ARCH never matches and they fall to the bad-arch
//! action, as with libseccomp.

use super::syscalls;
use oci_spec::runtime::Arch;

pub(super) use syscalls::X32_SYSCALL_BIT;

/// `AUDIT_ARCH_X86_64` (EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE).
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (EM_386 | __AUDIT_ARCH_LE).
const AUDIT_ARCH_I386: u32 = 0x4000_0003;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Abi {
    X86_64,
    I386,
    X32,
}

impl Abi {
    pub(super) const ALL: [Abi; 3] = [Abi::X86_64, Abi::I386, Abi::X32];

    /// The ABI of `SCMP_ARCH_NATIVE`, i.e. of the host skiff was built for.
    pub(super) const NATIVE: Option<Abi> = if cfg!(target_arch = "x86_64") {
        Some(Abi::X86_64)
    } else {
        None
    };

    /// The ABI an OCI architecture name stands for; `None` for architectures that
    /// have no table here (valid names, but they cannot run on an x86_64 host).
    pub(super) fn from_spec(arch: Arch) -> Option<Abi> {
        match arch {
            Arch::ScmpArchNative => Abi::NATIVE,
            Arch::ScmpArchX86_64 => Some(Abi::X86_64),
            Arch::ScmpArchX86 => Some(Abi::I386),
            Arch::ScmpArchX32 => Some(Abi::X32),
            _ => None,
        }
    }

    pub(super) fn audit_arch(self) -> u32 {
        match self {
            Abi::X86_64 | Abi::X32 => AUDIT_ARCH_X86_64,
            Abi::I386 => AUDIT_ARCH_I386,
        }
    }

    /// Whether arguments are compared as 64-bit values. For i386 the kernel fills
    /// `seccomp_data.args` from 32-bit registers; x32 has 32-bit longs and pointers.
    /// On both, libseccomp compares only the low 32 bits of each argument (it treats
    /// x32 as a 32-bit architecture), and so do we, so profiles mean the same as
    /// under runc.
    pub(super) fn args_64bit(self) -> bool {
        matches!(self, Abi::X86_64)
    }

    fn table(self) -> &'static [(&'static str, u32)] {
        match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::I386 => syscalls::I386,
            Abi::X32 => syscalls::X32,
        }
    }

    /// The syscall number of `name` on this ABI (x32 numbers include the x32 bit).
    pub(super) fn lookup(self, name: &str) -> Option<u32> {
        let table = self.table();
        table
            .binary_search_by(|(n, _)| n.cmp(&name))
            .ok()
            .map(|i| table[i].1)
    }
}

/// i386 socketcall(2) and ipc(2) numbers.
pub(super) const I386_SOCKETCALL: u32 = 102;
pub(super) const I386_IPC: u32 = 117;

/// The calls i386 also reaches through socketcall(2) (<linux/net.h> SYS_*) and ipc(2)
/// (<linux/ipc.h>), with the call number each takes as its first argument.
const SOCKETCALLS: [(&str, u32); 20] = [
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];
const IPC_CALLS: [(&str, u32); 12] = [
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// For i386: the multiplexer (socketcall or ipc) and call number through which
/// `name` can also be made. libseccomp adds a rule on the multiplexer for every such
/// rule (first argument == call, the rule's own conditions kept as they are), so a
/// rule on `socket` also covers `socketcall(SYS_SOCKET, ...)`.
pub(super) fn i386_multiplexed(name: &str) -> Option<(u32, u32)> {
    let find = |table: &[(&str, u32)]| table.iter().find(|(n, _)| *n == name).map(|e| e.1);
    find(&SOCKETCALLS)
        .map(|call| (I386_SOCKETCALL, call))
        .or_else(|| find(&IPC_CALLS).map(|call| (I386_IPC, call)))
}

/// Whether `name` is a syscall on any architecture libseccomp knows. Names that exist
/// somewhere but not on a given ABI are skipped there (libseccomp does the same, e.g.
/// `arch_prctl` on i386 or `recv` on x86); a name that exists nowhere is a config error.
pub(super) fn known_anywhere(name: &str) -> bool {
    Abi::ALL.iter().any(|abi| abi.lookup(name).is_some())
        || syscalls::OTHER_ARCH.binary_search(&name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_unique() {
        for abi in Abi::ALL {
            let t = abi.table();
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0), "{abi:?} not sorted");
        }
        let o = syscalls::OTHER_ARCH;
        assert!(o.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn known_numbers() {
        assert_eq!(Abi::X86_64.lookup("read"), Some(0));
        assert_eq!(Abi::X86_64.lookup("getppid"), Some(110));
        assert_eq!(Abi::X86_64.lookup("arch_prctl"), Some(158));
        assert_eq!(Abi::I386.lookup("getppid"), Some(64));
        assert_eq!(Abi::I386.lookup("socketcall"), Some(102));
        assert_eq!(Abi::I386.lookup("arch_prctl"), Some(384));
        assert_eq!(Abi::X86_64.lookup("socketcall"), None);
        assert_eq!(Abi::X32.lookup("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(Abi::X32.lookup("rt_sigaction"), Some(X32_SYSCALL_BIT + 512));
        // x86_64-only numbers are not x32 syscalls.
        assert_eq!(Abi::X32.lookup("map_shadow_stack"), None);
        // Newer than the installed headers, from the generator's supplement.
        assert_eq!(Abi::X86_64.lookup("fchmodat2"), Some(452));
        assert_eq!(Abi::I386.lookup("mseal"), Some(462));
        assert_eq!(Abi::I386.lookup("socketcall"), Some(I386_SOCKETCALL));
        assert_eq!(Abi::I386.lookup("ipc"), Some(I386_IPC));
        assert_eq!(i386_multiplexed("recv"), Some((I386_SOCKETCALL, 10)));
        assert_eq!(i386_multiplexed("shmctl"), Some((I386_IPC, 24)));
        assert_eq!(i386_multiplexed("read"), None);
        assert!(known_anywhere("recv"));
        assert!(known_anywhere("chown32"));
        assert!(!known_anywhere("foo"));
    }
}
