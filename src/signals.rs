//! Which signals reaper takes, how it waits for them, how it forwards them, and their names.
//!
//! reaper installs no signal handler at all: it blocks every signal it handles and takes
//! them one at a time with `rt_sigtimedwait`. So the loop sleeps in a single syscall while
//! idle, no signal can arrive "between" two steps, and the dispositions the application
//! inherits are exactly the ones reaper inherited.
//!
//! Masks are kept as the kernel's 64-bit set and changed with raw syscalls, because the C
//! libraries refuse to put their internal real-time signals (32 to 34) in a `sigset_t`;
//! reaper is single-threaded, so it can block and forward them like any other.

use std::io;
use std::mem::MaybeUninit;
use std::time::Duration;

use crate::os_error::OsError;

/// The highest signal number on Linux.
pub const MAX: i32 = 64;

/// The size of the kernel's signal set, as the raw syscalls take it: a `size_t`, which
/// must go through `syscall`'s variadic arguments at its full width.
const SIGSET_SIZE: libc::size_t = 8;

/// What `RTMIN` means in a name: glibc's SIGRTMIN, the value bash, `kill -l` and Docker's
/// `STOPSIGNAL SIGRTMIN+3` use (musl's own is 35; the kernel's first real-time signal is 32).
pub const RTMIN: i32 = 34;

/// Faults that the kernel raises synchronously on the faulting thread. Blocking them would
/// not stop them (a blocked SIGSEGV from a real fault kills anyway) and forwarding a
/// fault of reaper's to the application would be wrong, so they keep their default action.
const SYNCHRONOUS: [i32; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGTRAP,
    libc::SIGSYS,
    libc::SIGABRT,
];

/// A set of signals in the kernel's layout: bit N-1 stands for signal N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigSet(u64);

impl SigSet {
    const fn bit(sig: i32) -> u64 {
        1u64 << (sig - 1)
    }

    pub fn contains(self, sig: i32) -> bool {
        (1..=MAX).contains(&sig) && self.0 & Self::bit(sig) != 0
    }

    /// Every signal reaper takes: all but SIGKILL and SIGSTOP (which cannot be caught) and
    /// the synchronous faults.
    pub const fn handled() -> SigSet {
        let mut set = u64::MAX;
        set &= !Self::bit(libc::SIGKILL) & !Self::bit(libc::SIGSTOP);
        let mut i = 0;
        while i < SYNCHRONOUS.len() {
            set &= !Self::bit(SYNCHRONOUS[i]);
            i += 1;
        }
        SigSet(set)
    }
}

/// Whether reaper passes `sig` on to the application: every signal it takes except SIGCHLD,
/// which is reaper's own business.
pub fn is_forwarded(sig: i32) -> bool {
    sig != libc::SIGCHLD && SigSet::handled().contains(sig)
}

fn sigprocmask(how: libc::c_int, set: Option<SigSet>) -> io::Result<SigSet> {
    let mut old = 0u64;
    let new = set.map(|s| s.0);
    let new_ptr = new.as_ref().map_or(std::ptr::null(), |n| n as *const u64);
    // SAFETY: both pointers are to live u64s (or null), and the size is that of the
    // kernel's sigset on every Linux architecture with a 64-signal set.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            how,
            new_ptr,
            &mut old as *mut u64,
            SIGSET_SIZE,
        )
    };
    if r == 0 {
        Ok(SigSet(old))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Blocks every signal reaper handles and returns the mask it inherited, which is the mask
/// the application gets back.
pub fn block_handled() -> io::Result<SigSet> {
    sigprocmask(libc::SIG_BLOCK, Some(SigSet::handled()))
}

/// Sets the calling thread's mask. Async-signal-safe (one raw syscall), for use between
/// fork and exec.
pub fn set_mask(mask: SigSet) {
    // SAFETY: a pointer to a live u64 and no old-mask pointer; errors are impossible for a
    // valid `how` and size, and there would be nothing to do about one in a forked child.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask.0 as *const u64,
            std::ptr::null::<u64>(),
            SIGSET_SIZE,
        );
    }
}

/// One signal taken off the pending set.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub signo: i32,
    /// The sending process, for a signal sent by `kill`, `sigqueue` or `tgkill`.
    pub sender: Option<libc::pid_t>,
}

impl Received {
    /// Whether the kernel raised this signal on reaper because of reaper's own doing, such
    /// as SIGPIPE or SIGXFSZ from writing a log line: the kernel gives those SI_USER and
    /// the writer's own pid as sender.
    pub fn is_self_inflicted(&self, own_pid: libc::pid_t) -> bool {
        self.sender == Some(own_pid)
    }
}

/// Sleeps until one of `set` is pending and takes it, or until `timeout` passes (`None`).
/// With no timeout this never returns `None`.
pub fn wait(set: SigSet, timeout: Option<Duration>) -> Option<Received> {
    // The kernel's own timespec for this syscall number: two longs on every architecture
    // (32-bit ones included, whatever time_t width the C library has chosen). Capped at
    // 68 years, which fits a 32-bit long.
    let ts: Option<[libc::c_long; 2]> = timeout.map(|t| {
        [
            t.as_secs().min(i32::MAX as u64) as libc::c_long,
            t.subsec_nanos() as libc::c_long,
        ]
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const [libc::c_long; 2]);
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
    loop {
        // SAFETY: `set` is a live u64 of the kernel's sigset size, `info` is a writable
        // siginfo_t, and `ts_ptr` is null or points to two live longs.
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &set.0 as *const u64,
                info.as_mut_ptr(),
                ts_ptr,
                SIGSET_SIZE,
            )
        };
        if r > 0 {
            // SAFETY: the kernel filled `info` for the signal it returned.
            let info = unsafe { info.assume_init() };
            let sender = if matches!(
                info.si_code,
                libc::SI_USER | libc::SI_QUEUE | libc::SI_TKILL
            ) {
                // SAFETY: signals sent by kill, sigqueue and tgkill carry the sender's pid.
                Some(unsafe { info.si_pid() })
            } else {
                None
            };
            return Some(Received {
                signo: r as i32,
                sender,
            });
        }
        match io::Error::last_os_error().raw_os_error() {
            // A stop and continue of reaper itself interrupts the wait: wait again. With
            // a timeout this restarts it in full, which only ever waits longer.
            Some(libc::EINTR) => continue,
            _ => return None,
        }
    }
}

/// The kernel's `struct sigaction` on every architecture reaper builds for (x86_64, i686,
/// aarch64, ppc64): handler, flags, restorer, mask.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// If SIGCHLD is ignored, as reaper may inherit it, the kernel reaps every child on its
/// own and sends no SIGCHLD: reaper would never learn that its child exited. So reaper
/// takes it back to the default (its only change to a disposition) and says so, for the
/// child to ignore it again before exec.
pub fn take_back_sigchld() -> bool {
    let mut old = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: raw rt_sigaction on live structs of the kernel's layout.
    let read = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            libc::SIGCHLD,
            std::ptr::null::<KernelSigaction>(),
            &mut old as *mut KernelSigaction,
            SIGSET_SIZE,
        )
    };
    if read != 0 || old.handler != libc::SIG_IGN {
        return false;
    }
    set_disposition(libc::SIGCHLD, libc::SIG_DFL);
    true
}

/// Sets `sig` to SIG_DFL or SIG_IGN. One raw syscall, touching no memory of the C
/// library's: async-signal-safe, for the child too.
pub fn set_disposition(sig: i32, handler: libc::sighandler_t) {
    let action = KernelSigaction {
        handler,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: raw rt_sigaction on a live struct of the kernel's layout; SIG_DFL and
    // SIG_IGN need no restorer.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &action as *const KernelSigaction,
            std::ptr::null_mut::<KernelSigaction>(),
            SIGSET_SIZE,
        );
    }
}

/// Queues `sig` to reaper itself as if the kernel had sent it (SI_KERNEL): it is then
/// forwarded, not mistaken for a signal of reaper's own doing, which `raise` would be.
pub fn queue_to_self(sig: i32) {
    // SAFETY: a zeroed siginfo_t is valid; only its first fields are set.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = sig;
    info.si_code = libc::SI_KERNEL;
    // SAFETY: a live siginfo; queueing to one's own pid may use any si_code.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigqueueinfo,
            libc::getpid(),
            sig,
            &info as *const libc::siginfo_t,
        );
    }
}

/// Sends `sig` to `target` (a pid, or minus a process group). Errors are the caller's to log.
pub fn send(target: libc::pid_t, sig: i32) -> Result<(), OsError> {
    // SAFETY: kill has no memory-safety preconditions.
    if unsafe { libc::kill(target, sig) } == 0 {
        Ok(())
    } else {
        Err(OsError::last())
    }
}

const NAMES: [&str; 31] = [
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV", "USR2",
    "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN", "TTOU", "URG",
    "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
];

const ALIASES: [(&str, i32); 4] = [
    ("IOT", libc::SIGABRT),
    ("POLL", libc::SIGIO),
    ("CLD", libc::SIGCHLD),
    ("UNUSED", libc::SIGSYS),
];

/// A signal by name (`TERM`, `SIGTERM`, `sigterm`, `RTMIN+3`, `RTMAX-1`) or number (`15`).
/// Numbers may be 0 to 64, names 1 to 64; the caller decides whether 0 makes sense.
pub fn parse(s: &str) -> Option<i32> {
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        return s.parse().ok().filter(|n| (0..=MAX).contains(n));
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if !name.is_empty() && name.bytes().all(|c| c.is_ascii_digit()) && name.len() < s.len() {
        // `SIG32`, as `name` spells the signals that have no name.
        return name.parse().ok().filter(|n| (1..=MAX).contains(n));
    }
    if let Some(i) = NAMES.iter().position(|&n| n == name) {
        return Some(i as i32 + 1);
    }
    if let Some(&(_, sig)) = ALIASES.iter().find(|(n, _)| *n == name) {
        return Some(sig);
    }
    let offset = |rest: &str| -> Option<i32> {
        if rest.is_empty() {
            return Some(0);
        }
        let digits = rest.strip_prefix(['+', '-'])?;
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let n: i32 = digits.parse().ok()?;
        Some(if rest.starts_with('-') { -n } else { n })
    };
    let sig = if let Some(rest) = name.strip_prefix("RTMIN") {
        RTMIN.checked_add(offset(rest)?)?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        MAX.checked_add(offset(rest)?)?
    } else {
        return None;
    };
    (RTMIN..=MAX).contains(&sig).then_some(sig)
}

/// The conventional name: `SIGTERM`, `SIGRTMIN+3`, `SIGRTMAX-2`, `SIG32`.
pub fn name(sig: i32) -> String {
    match sig {
        1..=31 => format!("SIG{}", NAMES[sig as usize - 1]),
        RTMIN => "SIGRTMIN".into(),
        MAX => "SIGRTMAX".into(),
        _ if (RTMIN..=MAX).contains(&sig) => {
            let from_min = sig - RTMIN;
            let from_max = MAX - sig;
            if from_min <= from_max {
                format!("SIGRTMIN+{from_min}")
            } else {
                format!("SIGRTMAX-{from_max}")
            }
        }
        _ => format!("SIG{sig}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        for (s, n) in [
            ("TERM", 15),
            ("SIGTERM", 15),
            ("sigterm", 15),
            ("Term", 15),
            ("15", 15),
            ("0", 0),
            ("64", 64),
            ("HUP", 1),
            ("SYS", 31),
            ("usr1", 10),
            ("WINCH", 28),
            ("IOT", 6),
            ("POLL", 29),
            ("CLD", 17),
            ("RTMIN", 34),
            ("SIGRTMIN+3", 37),
            ("rtmin+0", 34),
            ("RTMAX", 64),
            ("RTMAX-1", 63),
            ("RTMAX-30", 34),
            ("RTMIN+30", 64),
        ] {
            assert_eq!(parse(s), Some(n), "{s}");
        }
        for bad in [
            "",
            "65",
            "-1",
            "+1",
            "NOPE",
            "SIG",
            "SIGSIGTERM",
            "RTMIN+31",
            "RTMAX+1",
            "RTMIN-1",
            "RTMAX-31",
            "RTMIN+",
            "RTMIN3",
            "RTMIN++3",
            "RTMIN+-3",
            "1.5",
            "TERM ",
            "99999999999999",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for sig in 1..=MAX {
            let n = name(sig);
            assert_eq!(parse(&n), Some(sig), "{n}");
        }
        assert_eq!(name(32), "SIG32");
        assert_eq!(parse("sig33"), Some(33));
        assert_eq!(parse("SIG0"), None);
        assert_eq!(parse("SIG65"), None);
        assert_eq!(name(15), "SIGTERM");
        assert_eq!(name(37), "SIGRTMIN+3");
        assert_eq!(name(62), "SIGRTMAX-2");
    }

    #[test]
    fn what_is_handled_and_forwarded() {
        let handled = SigSet::handled();
        for sig in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGABRT,
        ] {
            assert!(!handled.contains(sig), "{}", name(sig));
            assert!(!is_forwarded(sig));
        }
        assert!(handled.contains(libc::SIGCHLD) && !is_forwarded(libc::SIGCHLD));
        for sig in [
            1, 2, 3, 10, 12, 13, 14, 15, 18, 20, 21, 22, 23, 28, 32, 33, 34, 50, 64,
        ] {
            assert!(is_forwarded(sig), "{}", name(sig));
        }
        assert!(!handled.contains(0) && !handled.contains(65) && !is_forwarded(-3));
        // 64 - KILL, STOP and the seven synchronous faults.
        assert_eq!(handled.0.count_ones(), 64 - 2 - 7);
    }

    /// Runs `check` in a child process of its own (signal state is process-wide and the
    /// test runner is multi-threaded) and asserts that it returned true.
    fn in_child(check: fn() -> bool) {
        // SAFETY: the child makes raw syscalls only and ends with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let ok = check();
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "status {status:#x}"
        );
    }

    /// A signal queued with `queue_to_self` arrives, and is not taken for one of reaper's
    /// own doing.
    #[test]
    fn a_signal_queued_to_self_is_not_self_inflicted() {
        in_child(|| {
            let set = SigSet(SigSet::bit(libc::SIGUSR1));
            set_mask(set);
            queue_to_self(libc::SIGUSR1);
            let got = wait(set, Some(Duration::from_secs(5)));
            // SAFETY: getpid has no preconditions.
            let me = unsafe { libc::getpid() };
            got.is_some_and(|r| r.signo == libc::SIGUSR1 && !r.is_self_inflicted(me))
        });
    }

    #[test]
    fn sigchld_ignored_is_taken_back_and_reported() {
        in_child(|| {
            set_disposition(libc::SIGCHLD, libc::SIG_IGN);
            let first = take_back_sigchld();
            let second = take_back_sigchld();
            first && !second
        });
    }

    #[test]
    fn self_inflicted_means_sent_by_ourselves() {
        let r = Received {
            signo: libc::SIGPIPE,
            sender: Some(1),
        };
        assert!(r.is_self_inflicted(1));
        assert!(!r.is_self_inflicted(7));
        let r = Received {
            signo: libc::SIGPIPE,
            sender: None,
        };
        assert!(!r.is_self_inflicted(1));
    }
}
