//! What the integration tests and testkit both read from and ask of the kernel directly:
//! `/proc/PID/stat`, parsed by reaper's own parser (`src/stat.rs`), and the raw signal syscalls, declared once.
//!
//! One file in two crates: the integration tests take it with `#[path]` (main.rs), testkit
//! as a module of its own. Each uses a part of it, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::fmt::Display;

/// reaper's own parser of `/proc/PID/stat`, one file in both.
#[path = "../../src/stat.rs"]
mod stat;

/// The fields of `/proc/PID/stat` (proc_pid_stat(5)) that the tests look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub tpgid: i32,
    /// User and system CPU time, in clock ticks.
    pub utime: u64,
    pub stime: u64,
}

impl Stat {
    /// Parses the contents of a stat file, with reaper's own parser.
    pub fn parse(stat: &[u8]) -> Option<Stat> {
        let fields = stat::Fields::of(stat)?;
        Some(Stat {
            state: char::from(fields.state()?),
            ppid: fields.parse(4)?,
            pgrp: fields.parse(5)?,
            session: fields.parse(6)?,
            tpgid: fields.parse(8)?,
            utime: fields.parse(14)?,
            stime: fields.parse(15)?,
        })
    }
}

/// `/proc/PID/stat` of `pid` (a number, or `self`); `None` once the process is gone.
pub fn proc_stat(pid: impl Display) -> Option<Stat> {
    Stat::parse(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
}

/// A signal's bit in a kernel signal set (and in /proc's SigBlk, SigIgn, ... masks).
pub const fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// The kernel's `sigset_t`: 64 bits on x86_64 and aarch64.
const SIGSET_SIZE: usize = 8;

/// `rt_sigprocmask(how, set)`: blocks, unblocks or sets (`libc::SIG_BLOCK`, ...) the
/// signals of `set`, and returns the mask before. The raw syscall, because the C library's
/// calls refuse (or silently drop) the real-time signals it keeps for itself, 32 to 34.
/// Async-signal-safe: fit for a `pre_exec`.
pub fn set_mask(how: i32, set: u64) -> u64 {
    let mut old = 0u64;
    // SAFETY: live u64s of the kernel's sigset size.
    unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, &set, &mut old, SIGSET_SIZE) };
    old
}

/// The kernel's `struct sigaction` on x86_64 and aarch64.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// `rt_sigaction`: sets `sig` to be ignored (`SIG_IGN`) or to its default action
/// (`SIG_DFL`), and says whether it was ignored before. Only those two: a handler would
/// need the C library's restorer. The raw syscall, for the same reason as [`set_mask`];
/// async-signal-safe.
pub fn set_ignored(sig: i32, ignored: bool) -> bool {
    let new = KernelSigaction {
        handler: if ignored {
            libc::SIG_IGN
        } else {
            libc::SIG_DFL
        },
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    let mut old = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: live structs of the kernel's layout; neither handler is a function.
    let r = unsafe { libc::syscall(libc::SYS_rt_sigaction, sig, &new, &mut old, SIGSET_SIZE) };
    r == 0 && old.handler == libc::SIG_IGN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let line = b"42 (a) b (c) d) Z 1 42 7 34817 42 4194560 0 0 0 0 12 34 0 0 20 0\n";
        let stat = Stat::parse(line).expect("a whole stat line");
        assert_eq!(
            stat,
            Stat {
                state: 'Z',
                ppid: 1,
                pgrp: 42,
                session: 7,
                tpgid: 42,
                utime: 12,
                stime: 34,
            }
        );
        assert_eq!(Stat::parse(b"42 (cut short) S 1"), None);
        let me = proc_stat("self").expect("/proc/self/stat");
        assert_eq!(me.ppid, std::os::unix::process::parent_id() as i32);
        // SAFETY: getpgrp has no preconditions.
        assert_eq!(me.pgrp, unsafe { libc::getpgrp() });
    }
}
