//! reaper's own process state: subreaper registration, the parent-death signal, closed
//! standard descriptors, inherited descriptors, and the working directory.
//!
//! Nothing here touches the application: whatever reaper changes in itself either happens
//! after the child is started (inherited descriptors, the working directory) or does not
//! survive exec (close-on-exec descriptors).

use std::os::fd::{AsRawFd, IntoRawFd, RawFd};

use nix::unistd::{Pid, getpid, getppid};

use crate::error::describe;
use crate::{signals, spawn};

/// Where reaper stands: PID 1 of its namespace, or a process below some other init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Pid1,
    /// Not PID 1: reaper's own pid.
    Subreaper(libc::pid_t),
}

impl Place {
    /// reaper's pid as its namespace sees it.
    pub fn own_pid(self) -> libc::pid_t {
        match self {
            Place::Pid1 => 1,
            Place::Subreaper(pid) => pid,
        }
    }
}

/// Says at start what would otherwise show only when the first signal is refused: reaper
/// may signal an app that runs as another user (`--user`) only with CAP_KILL (kill(2)), so
/// without it no signal would be forwarded and the teardown could end nothing.
pub fn warn_if_unable_to_signal(app_uid: u32) {
    let Some((euid, caps)) = own_credentials() else {
        return;
    };
    // Without CAP_SETUID the switch itself failed closed, and said so.
    if app_uid == euid || caps & CAP_KILL != 0 || caps & CAP_SETUID == 0 {
        return;
    }
    log::warn!(
        "reaper (uid {euid}) lacks CAP_KILL and the app runs as uid {app_uid}: reaper will not be able to forward signals to it or end it; keep CAP_KILL, or run reaper as the app's user"
    );
}

/// CAP_KILL and CAP_SETUID, as bits of a capability set (linux/capability.h).
const CAP_KILL: u64 = 1 << 5;
const CAP_SETUID: u64 = 1 << 7;

/// reaper's effective uid and effective capabilities, from /proc/self/status (`None` when
/// it cannot be read).
fn own_credentials() -> Option<(u32, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
    };
    // Uid: real, effective, saved, filesystem.
    let euid = field("Uid")?
        .split_ascii_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    let eff = u64::from_str_radix(field("CapEff")?.trim(), 16).ok()?;
    Some((euid, eff))
}

/// Makes reaper the init of whatever it starts: the child subreaper when it is not PID 1,
/// so that orphans below it are reparented to it rather than to whatever init is above,
/// and the parent-death signal when one is asked for. Being nested under another init
/// (`docker run --init` with reaper as ENTRYPOINT, a shared pod PID namespace) is normal,
/// so it is only a debug line.
pub fn become_init(pdeath_signal: Option<i32>) -> Place {
    let parent_at_start = getppid();
    let place = match getpid() {
        pid if pid == Pid::from_raw(1) => Place::Pid1,
        pid => Place::Subreaper(pid.as_raw()),
    };
    if place != Place::Pid1 {
        match nix::sys::prctl::set_child_subreaper(true) {
            Ok(()) => log::debug!("not PID 1: registered as child subreaper"),
            Err(e) => log::warn!(
                "not PID 1 and failed to become a child subreaper: {}; orphans will not be reaped",
                describe(e)
            ),
        }
    }
    if let Some(sig) = pdeath_signal {
        set_pdeath_signal(sig, parent_at_start);
    }
    place
}

/// Asks the kernel to send `sig` to reaper when its parent dies.
fn set_pdeath_signal(sig: i32, parent_at_start: Pid) {
    if let Err(e) = signals::set_parent_death_signal(sig) {
        log::warn!("failed to set the parent-death signal: {}", describe(e));
        return;
    }
    // If the parent died before the request, the kernel will never send it: do it now,
    // as the kernel would have (raise would make it look like reaper's own doing, which
    // is never forwarded). As PID 1 the parent is outside the namespace, 0 either way.
    if getppid() != parent_at_start
        && let Err(e) = signals::queue_to_self(sig)
    {
        log::warn!(
            "reaper's parent died before the parent-death signal was set, and {} could not be queued to reaper: {}; it is not forwarded",
            crate::signo::name(sig),
            describe(e)
        );
    }
}

/// Puts `/dev/null`, close-on-exec, in place of any of stdin, stdout and stderr that is
/// closed. reaper's own log lines then go nowhere instead of into a descriptor it opens
/// later, and the application still finds the descriptor closed, as reaper got it.
pub fn guard_closed_stdio() {
    // open takes the lowest free descriptor: while that is one of 0 to 2, it fills a gap.
    // std opens with O_CLOEXEC.
    while let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        if null.as_raw_fd() > 2 {
            // Not a gap: the standard descriptors are all open; dropping it closes it.
            break;
        }
        // A gap filled: it stays open for good.
        let _ = null.into_raw_fd();
    }
}

/// Moves reaper out of the application's working directory, so that a long-lived reaper
/// does not keep a mount busy (as catatonit does). Called once the child has its own.
pub fn leave_working_directory() {
    if let Err(e) = nix::unistd::chdir("/") {
        log::debug!("failed to change to /: {}", describe(e));
    }
}

/// Closes reaper's copies of every descriptor from 3 up, but those in `keep` (the terminal
/// reaper opened, its log's own description of stderr): the child has its own by now, and
/// a reader waiting for EOF on a pipe, or a client of a socket, must not wait for reaper to
/// exit because reaper still holds it. Nothing else of reaper's own is open at this point.
/// `close_range` where the kernel has it (Linux 5.9) and a seccomp profile allows it; else
/// each descriptor `/proc/self/fd` lists; else they stay open, which is no reason to stop.
pub fn close_inherited_descriptors(keep: &[RawFd]) {
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .filter(|&fd| fd >= 3)
        .collect();
    kept.sort_unstable();
    // The ranges between the kept ones.
    let mut ranges = Vec::with_capacity(kept.len() + 1);
    let mut first = 3;
    for fd in kept {
        if fd > first {
            ranges.push((first, fd - 1));
        }
        first = fd.saturating_add(1);
    }
    ranges.push((first, u32::MAX));
    let closed = ranges
        .iter()
        .filter(|(first, last)| first <= last)
        .try_for_each(|&(first, last)| spawn::close_range(first, last));
    let Err(e) = closed else {
        return;
    };
    log::debug!(
        "close_range failed: {}; closing what /proc lists",
        describe(e)
    );
    // The directory being read is one more descriptor, listed too; it is closed by the
    // time the others are, so closing its number again only fails.
    let listed: Result<Vec<RawFd>, _> = std::fs::read_dir("/proc/self/fd").map(|dir| {
        dir.filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect()
    });
    match listed {
        Ok(fds) => fds
            .into_iter()
            .filter(|&fd| fd >= 3 && !keep.contains(&fd))
            .for_each(spawn::close_fd),
        Err(e) => log::debug!("cannot list /proc/self/fd: {e}; inherited descriptors stay open"),
    }
}
