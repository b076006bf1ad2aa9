//! What each signal number means to reaper: its name, whether reaper takes it, whether it
//! forwards it. Pure: no syscalls, so the command line may use it and every rule here is
//! unit-tested. The syscalls that block, wait for and send signals are in `signals`.

/// The highest signal number on Linux.
pub const MAX: i32 = 64;

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

    /// The set as the kernel's raw syscalls take it.
    pub const fn bits(self) -> u64 {
        self.0
    }

    pub const fn from_bits(bits: u64) -> SigSet {
        SigSet(bits)
    }

    /// A set holding `sig` alone.
    pub const fn of(sig: i32) -> SigSet {
        SigSet(Self::bit(sig))
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

/// Whether `sig` asks the application to end: what `docker stop`, Ctrl-C and Ctrl-\
/// send. Once one of these has been forwarded, the application is in its own shutdown.
pub fn asks_to_end(sig: i32) -> bool {
    matches!(sig, libc::SIGTERM | libc::SIGINT | libc::SIGQUIT)
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
}
