//! The signal syscalls: blocking, waiting, sending, dispositions.
//!
//! reaper installs no signal handler at all: it blocks every signal it handles and takes
//! them one at a time with `rt_sigtimedwait` (or, where a seccomp profile refuses that, by
//! reading a signalfd). So the loop sleeps in a single syscall while idle, no signal can
//! arrive "between" two steps, and the dispositions the application inherits are exactly
//! the ones reaper inherited.
//!
//! Masks are kept as the kernel's 64-bit set and changed with raw syscalls (`sys::signal`),
//! because the C libraries refuse to put their internal real-time signals (32 to 34) in a
//! `sigset_t`; reaper is single-threaded, so it can block and forward them like any other.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

use crate::error::{Error, describe};
use crate::signo::SigSet;
use crate::sys;

/// reaper's own pid, recorded by `take_over`: a signal it sent itself is its own doing.
static OWN_PID: AtomicI32 = AtomicI32::new(0);

/// The signal state reaper inherited, which the application gets back before exec.
#[derive(Debug, Clone, Copy)]
pub struct Inherited {
    mask: SigSet,
    /// SIGCHLD was ignored: reaper took it back to the default for itself.
    sigchld_ignored: bool,
}

/// Blocks every signal reaper handles, before anything can race, and takes SIGCHLD back
/// if it was inherited ignored; returns what the application must get back.
pub fn take_over() -> Result<Inherited, Error> {
    OWN_PID.store(nix::unistd::getpid().as_raw(), Ordering::Relaxed);
    let mask = sys::signal::sigprocmask(libc::SIG_BLOCK, Some(SigSet::handled()))
        .map_err(|e| Error::failed("block signals", e))?;
    Ok(Inherited {
        mask,
        sigchld_ignored: take_back_sigchld(),
    })
}

impl Inherited {
    /// The mask reaper inherited, which the child sets again before exec.
    pub fn mask(&self) -> SigSet {
        self.mask
    }

    /// Whether SIGCHLD was inherited ignored, which the child sets again before exec.
    pub fn sigchld_ignored(&self) -> bool {
        self.sigchld_ignored
    }
}

/// One signal taken off the pending set.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    pub signo: i32,
    /// The sending process, for a signal sent by `kill`, `sigqueue` or `tgkill`.
    pub sender: Option<libc::pid_t>,
    /// Raised by the kernel itself (SI_KERNEL), not sent by any process.
    pub from_kernel: bool,
}

impl Received {
    /// Whether the kernel raised this signal on reaper because of reaper's own doing: a
    /// SIGPIPE or SIGXFSZ from writing a log line (the kernel gives those SI_USER and the
    /// writer's own pid as sender), or a SIGXCPU or SIGXFSZ for reaper's own resource
    /// limits (SI_KERNEL). Such a signal is never forwarded: the application must never
    /// die of reaper's own trouble. The same signals sent with `kill` are forwarded.
    pub fn is_self_inflicted(&self) -> bool {
        self.sender
            .is_some_and(|pid| pid != 0 && pid == OWN_PID.load(Ordering::Relaxed))
            || (self.from_kernel && matches!(self.signo, libc::SIGXCPU | libc::SIGXFSZ))
    }
}

/// How reaper waits for signals: `rt_sigtimedwait`, until the kernel refuses it once (a
/// seccomp profile that does not list it); then a signalfd, which the same profiles allow
/// (catatonit waits on one); `NO_WAY` when that fails too. A signalfd rather than
/// `sigsuspend` with handlers: the signals stay blocked and are taken one at a time with
/// their sender, as before, and no disposition changes, so the application still inherits
/// exactly reaper's (a handler would replace an inherited SIG_IGN, and could run in the
/// child between clone and exec).
static WAITER: AtomicI32 = AtomicI32::new(SIGTIMEDWAIT);
const SIGTIMEDWAIT: i32 = -2;
const NO_WAY: i32 = -1;
/// The set the signalfd was made for: a call for another set changes it first.
static SIGNALFD_SET: AtomicU64 = AtomicU64::new(0);

/// How long a wait sleeps, at most, when no way to wait for signals works: the callers
/// look again at what they wait for (children reaped, processes gone), and never spin.
const NAP: Duration = Duration::from_millis(50);

/// Sleeps until one of `set` is pending and takes it, or until `timeout` passes (`None`).
/// With no timeout this returns `None` only when no way to wait for signals works (see
/// `can_wait`); it then sleeps a little first, as it does with a timeout, so that no caller
/// spins.
pub fn wait(set: SigSet, timeout: Option<Duration>) -> Option<Received> {
    loop {
        match WAITER.load(Ordering::Relaxed) {
            SIGTIMEDWAIT => match sigtimedwait(set, timeout) {
                Ok(got) => return got,
                Err(e) => use_signalfd(set, e),
            },
            NO_WAY => {
                std::thread::sleep(timeout.map_or(NAP, |t| t.min(NAP)));
                return None;
            }
            _ => return from_signalfd(set, timeout),
        }
    }
}

/// Whether reaper can still wait for signals. When it cannot, it cannot forward them
/// either, nor learn that a child exited without polling: an init must then end.
pub fn can_wait() -> bool {
    WAITER.load(Ordering::Relaxed) != NO_WAY
}

/// One `rt_sigtimedwait`: `Ok(None)` on timeout, `Err` when the kernel refuses the call.
fn sigtimedwait(set: SigSet, timeout: Option<Duration>) -> Result<Option<Received>, Errno> {
    // Capped at 68 years, which fits a 32-bit long.
    let ts: Option<[libc::c_long; 2]> = timeout.map(|t| {
        [
            t.as_secs().min(i32::MAX as u64) as libc::c_long,
            t.subsec_nanos() as libc::c_long,
        ]
    });
    loop {
        match sys::signal::sigtimedwait(set, ts) {
            Ok(taken) => return Ok(Some(received(taken))),
            // A stop and continue of reaper itself interrupts the wait: wait again. With
            // a timeout this restarts it in full, which only ever waits longer.
            Err(Errno::EINTR) => continue,
            // The timeout passed.
            Err(Errno::EAGAIN) => return Ok(None),
            // Anything else is a refusal of the call itself (a seccomp profile answers
            // EPERM or ENOSYS): the same call would fail the same way for ever.
            Err(e) => return Err(e),
        }
    }
}

/// What a signal taken off the pending set says about itself.
fn received(taken: sys::signal::Taken) -> Received {
    Received {
        signo: taken.signo,
        sender: sent_by_process(taken.code).then_some(taken.pid),
        from_kernel: taken.code == libc::SI_KERNEL,
    }
}

/// Whether a signal of this `si_code` was sent by a process, which the siginfo names.
fn sent_by_process(code: i32) -> bool {
    matches!(code, libc::SI_USER | libc::SI_QUEUE | libc::SI_TKILL)
}

/// `rt_sigtimedwait` was refused with `refused`: waits through a signalfd from now on, or,
/// if none can be had, through nothing at all (and says so).
fn use_signalfd(set: SigSet, refused: Errno) {
    match sys::signal::signalfd(set) {
        Ok(fd) => {
            SIGNALFD_SET.store(set.bits(), Ordering::Relaxed);
            WAITER.store(fd.as_raw_fd(), Ordering::Relaxed);
            log::info!(
                "rt_sigtimedwait is refused ({}): waiting for signals through a signalfd",
                describe(refused)
            );
        }
        Err(e) => give_up(&format!(
            "rt_sigtimedwait: {}; signalfd: {}",
            describe(refused),
            describe(e)
        )),
    }
}

/// No way to wait for signals is left: says so, once, in the one line an init owes.
fn give_up(why: &str) {
    WAITER.store(NO_WAY, Ordering::Relaxed);
    log::error!(
        "cannot wait for signals ({why}): reaper can neither forward signals nor see its children exit; ending"
    );
}

/// `wait` through the signalfd: `poll` for the timeout (when one is given), then one
/// read, which takes one pending signal with its siginfo as `rt_sigtimedwait` does.
fn from_signalfd(set: SigSet, timeout: Option<Duration>) -> Option<Received> {
    let fd = sys::signal::the_signalfd()?;
    if SIGNALFD_SET.load(Ordering::Relaxed) != set.bits() {
        if let Err(e) = sys::signal::signalfd(set) {
            give_up(&format!("signalfd: {}", describe(e)));
            return None;
        }
        SIGNALFD_SET.store(set.bits(), Ordering::Relaxed);
    }
    if let Some(t) = timeout {
        let ms = t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
        let ms = PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX);
        match nix::poll::poll(&mut [PollFd::new(fd, PollFlags::POLLIN)], ms) {
            Ok(0) => return None,
            Ok(_) => {}
            // Interrupted: the caller looks again, as after a timeout.
            Err(Errno::EINTR) => return None,
            // poll refused too: the read below could block past the timeout. Sleep
            // instead; the teardown, the only caller with a timeout, looks for itself.
            Err(_) => {
                std::thread::sleep(t.min(NAP));
                return None;
            }
        }
    }
    loop {
        match sys::signal::read_signalfd(fd) {
            Ok(taken) => return Some(received(taken)),
            Err(Errno::EINTR) => continue,
            Err(e) => {
                give_up(&format!("read from a signalfd: {}", describe(e)));
                return None;
            }
        }
    }
}

/// If SIGCHLD is ignored, as reaper may inherit it, the kernel reaps every child on its
/// own and sends no SIGCHLD: reaper would never learn that its child exited. So reaper
/// takes it back to the default (its only change to a disposition) and says so, for the
/// child to ignore it again before exec.
fn take_back_sigchld() -> bool {
    if sys::signal::disposition(libc::SIGCHLD) != Ok(libc::SIG_IGN) {
        return false;
    }
    sys::signal::set_disposition(libc::SIGCHLD, libc::SIG_DFL);
    true
}

/// Queues `sig` to reaper itself as the kernel sends a parent-death signal: SI_USER from
/// pid 0 (a parent outside the namespace). It is then forwarded, not mistaken for a signal
/// of reaper's own doing, which `raise` (sender: reaper) would be.
pub fn queue_to_self(sig: i32) -> Result<(), Errno> {
    sys::signal::queue_to_self(sig)
}

/// Asks the kernel to send `sig` to reaper when its parent dies.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    sys::signal::set_parent_death_signal(sig)
}

/// Sends `sig` to `target` (a pid, minus a process group, or -1 for everything reaper may
/// signal). Errors are the caller's to log.
pub fn send(target: libc::pid_t, sig: i32) -> Result<(), Errno> {
    sys::signal::kill(target, sig)
}

/// Opens a pidfd (`pidfd_open(2)`, Linux 5.3): a handle on the process that has `pid` now,
/// which a later process given the same pid is not. Close-on-exec, as every pidfd is.
/// ENOSYS on older kernels: the caller then signals by pid, as before.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, Errno> {
    sys::signal::pidfd_open(pid)
}

/// Sends `sig` to the process behind a pidfd (`pidfd_send_signal(2)`): ESRCH once it has
/// exited, whoever has its pid by then.
pub fn pidfd_send(pidfd: std::os::fd::BorrowedFd<'_>, sig: i32) -> Result<(), Errno> {
    sys::signal::pidfd_send_signal(pidfd, sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_child(check: fn() -> bool) {
        sys::in_child_process(check);
    }

    /// A signal queued with `queue_to_self` arrives, and is not taken for one of reaper's
    /// own doing.
    #[test]
    fn a_signal_queued_to_self_is_not_self_inflicted() {
        in_child(|| {
            let set = SigSet::of(libc::SIGUSR1);
            sys::signal::set_mask(set);
            let queued = queue_to_self(libc::SIGUSR1);
            let got = wait(set, Some(Duration::from_secs(5)));
            queued.is_ok()
                && got.is_some_and(|r| r.signo == libc::SIGUSR1 && !r.is_self_inflicted())
                && queue_to_self(65) == Err(Errno::EINVAL)
        });
    }

    /// Where rt_sigtimedwait is refused, the signalfd takes its place: same signal, same
    /// sender, and a timeout still times out.
    #[test]
    fn a_signalfd_waits_as_rt_sigtimedwait_does() {
        in_child(|| {
            if take_over().is_err() {
                return false;
            }
            use_signalfd(SigSet::handled(), Errno::EPERM);
            let set = SigSet::of(libc::SIGUSR1);
            let _ = queue_to_self(libc::SIGUSR1);
            let queued = wait(set, Some(Duration::from_secs(5)));
            let _ = send(nix::unistd::getpid().as_raw(), libc::SIGUSR1);
            let own = wait(set, None);
            let none = wait(set, Some(Duration::from_millis(1)));
            can_wait()
                && WAITER.load(Ordering::Relaxed) >= 0
                && queued.is_some_and(|r| r.signo == libc::SIGUSR1 && !r.is_self_inflicted())
                && own.is_some_and(|r| r.signo == libc::SIGUSR1 && r.is_self_inflicted())
                && none.is_none()
        });
    }

    #[test]
    fn sigchld_ignored_is_taken_back_and_reported() {
        in_child(|| {
            sys::signal::set_disposition(libc::SIGCHLD, libc::SIG_IGN);
            let first = take_back_sigchld();
            let second = take_back_sigchld();
            first && !second
        });
    }

    #[test]
    fn self_inflicted_means_sent_by_reaper_itself() {
        in_child(|| {
            if take_over().is_err() {
                return false;
            }
            let set = SigSet::of(libc::SIGUSR2);
            let _ = send(nix::unistd::getpid().as_raw(), libc::SIGUSR2);
            let own = wait(set, Some(Duration::from_secs(5)));
            let _ = queue_to_self(libc::SIGUSR2);
            let queued = wait(set, Some(Duration::from_secs(5)));
            own.is_some_and(|r| r.is_self_inflicted())
                && queued.is_some_and(|r| !r.is_self_inflicted())
        });
    }
}
