//! The signal syscalls: blocking, waiting, sending, dispositions.
//!
//! reaper installs no signal handler at all: it blocks every signal it handles and takes
//! them one at a time with `rt_sigtimedwait` (or, where a seccomp profile refuses that, by
//! reading a signalfd). So the loop sleeps in a single syscall while idle, no signal can
//! arrive "between" two steps, and the dispositions the application inherits are exactly
//! the ones reaper inherited.
//!
//! Masks are kept as the kernel's 64-bit set and changed with raw syscalls, because the C
//! libraries refuse to put their internal real-time signals (32 to 34) in a `sigset_t`;
//! reaper is single-threaded, so it can block and forward them like any other. nix's
//! wrappers take only the 31 standard signals, so reaper makes these calls itself.
#![allow(unsafe_code)]

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use nix::errno::Errno;

use crate::error::{Error, describe};
use crate::signo::SigSet;

/// The size of the kernel's signal set, as the raw syscalls take it: a `size_t`, which
/// must go through `syscall`'s variadic arguments at its full width.
const SIGSET_SIZE: libc::size_t = 8;

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
    let mask = sigprocmask(libc::SIG_BLOCK, Some(SigSet::handled()))
        .map_err(|e| Error::failed("block signals", e))?;
    Ok(Inherited {
        mask,
        sigchld_ignored: take_back_sigchld(),
    })
}

impl Inherited {
    /// Gives the calling process the inherited signal state back. Async-signal-safe (raw
    /// syscalls only): for the child, between clone and exec.
    pub fn restore(&self) {
        if self.sigchld_ignored {
            set_disposition(libc::SIGCHLD, libc::SIG_IGN);
        }
        set_mask(self.mask);
    }
}

fn sigprocmask(how: libc::c_int, set: Option<SigSet>) -> Result<SigSet, Errno> {
    let mut old = 0u64;
    let new = set.map(SigSet::bits);
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
        Ok(SigSet::from_bits(old))
    } else {
        Err(Errno::last())
    }
}

/// Sets the calling thread's mask. Async-signal-safe (one raw syscall), for use between
/// fork and exec.
fn set_mask(mask: SigSet) {
    // SAFETY: a pointer to a live u64 and no old-mask pointer; errors are impossible for a
    // valid `how` and size, and there would be nothing to do about one in a forked child.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &mask.bits() as *const u64,
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
            fd => return from_signalfd(fd, set, timeout),
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
                &set.bits() as *const u64,
                info.as_mut_ptr(),
                ts_ptr,
                SIGSET_SIZE,
            )
        };
        if r > 0 {
            // SAFETY: the kernel filled `info` for the signal it returned.
            let info = unsafe { info.assume_init() };
            // SAFETY: signals sent by kill, sigqueue and tgkill carry the sender's pid.
            let sender = sent_by_process(info.si_code).then(|| unsafe { info.si_pid() });
            return Ok(Some(Received {
                signo: r as i32,
                sender,
                from_kernel: info.si_code == libc::SI_KERNEL,
            }));
        }
        match Errno::last() {
            // A stop and continue of reaper itself interrupts the wait: wait again. With
            // a timeout this restarts it in full, which only ever waits longer.
            Errno::EINTR => continue,
            // The timeout passed.
            Errno::EAGAIN => return Ok(None),
            // Anything else is a refusal of the call itself (a seccomp profile answers
            // EPERM or ENOSYS): the same call would fail the same way for ever.
            e => return Err(e),
        }
    }
}

/// Whether a signal of this `si_code` was sent by a process, which the siginfo names.
fn sent_by_process(code: i32) -> bool {
    matches!(code, libc::SI_USER | libc::SI_QUEUE | libc::SI_TKILL)
}

/// `rt_sigtimedwait` was refused with `refused`: waits through a signalfd from now on, or,
/// if none can be had, through nothing at all (and says so).
fn use_signalfd(set: SigSet, refused: Errno) {
    match signalfd(-1, set) {
        Ok(fd) => {
            SIGNALFD_SET.store(set.bits(), Ordering::Relaxed);
            WAITER.store(fd, Ordering::Relaxed);
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

/// `signalfd4(fd, set)`, close-on-exec: a new descriptor with `fd` -1, else `fd` changed to
/// `set`. nix's signalfd takes no real-time signal.
fn signalfd(fd: libc::c_int, set: SigSet) -> Result<libc::c_int, Errno> {
    // SAFETY: a pointer to a live u64 of the kernel's sigset size.
    let r = unsafe {
        libc::syscall(
            libc::SYS_signalfd4,
            fd,
            &set.bits() as *const u64,
            SIGSET_SIZE,
            libc::SFD_CLOEXEC,
        )
    };
    Errno::result(r).map(|fd| fd as libc::c_int)
}

/// `wait` through the signalfd `fd`: `poll` for the timeout (when one is given), then one
/// read, which takes one pending signal with its siginfo as `rt_sigtimedwait` does.
fn from_signalfd(fd: libc::c_int, set: SigSet, timeout: Option<Duration>) -> Option<Received> {
    if SIGNALFD_SET.load(Ordering::Relaxed) != set.bits() {
        if let Err(e) = signalfd(fd, set) {
            give_up(&format!("signalfd: {}", describe(e)));
            return None;
        }
        SIGNALFD_SET.store(set.bits(), Ordering::Relaxed);
    }
    if let Some(t) = timeout {
        let ms = t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as libc::c_int;
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        match unsafe { libc::poll(&mut pfd, 1, ms) } {
            0 => return None,
            n if n > 0 => {}
            // Interrupted: the caller looks again, as after a timeout.
            _ if Errno::last() == Errno::EINTR => return None,
            // poll refused too: the read below could block past the timeout. Sleep
            // instead; the teardown, the only caller with a timeout, looks for itself.
            _ => {
                std::thread::sleep(t.min(NAP));
                return None;
            }
        }
    }
    let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    loop {
        // SAFETY: a writable buffer of exactly one signalfd_siginfo.
        let n = unsafe { libc::read(fd, info.as_mut_ptr().cast(), size) };
        if n == size as isize {
            break;
        }
        match Errno::last() {
            Errno::EINTR if n < 0 => continue,
            e => {
                give_up(&format!("read from a signalfd: {}", describe(e)));
                return None;
            }
        }
    }
    // SAFETY: the kernel filled the whole struct.
    let info = unsafe { info.assume_init() };
    Some(Received {
        signo: info.ssi_signo as i32,
        sender: sent_by_process(info.ssi_code).then_some(info.ssi_pid as libc::pid_t),
        from_kernel: info.ssi_code == libc::SI_KERNEL,
    })
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
fn take_back_sigchld() -> bool {
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
fn set_disposition(sig: i32, handler: libc::sighandler_t) {
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

/// Queues `sig` to reaper itself as the kernel sends a parent-death signal: SI_USER from
/// pid 0 (a parent outside the namespace). It is then forwarded, not mistaken for a signal
/// of reaper's own doing, which `raise` (sender: reaper) would be.
pub fn queue_to_self(sig: i32) -> Result<(), Errno> {
    // SAFETY: a zeroed siginfo_t is valid; its sender pid stays 0.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    info.si_signo = sig;
    info.si_code = libc::SI_USER;
    // SAFETY: a live siginfo; queueing to one's own pid may use any si_code.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigqueueinfo,
            libc::getpid(),
            sig,
            &info as *const libc::siginfo_t,
        )
    };
    Errno::result(r).map(drop)
}

/// Asks the kernel to send `sig` to reaper when its parent dies. nix's `set_pdeathsig`
/// takes no real-time signal.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    Errno::result(r).map(drop)
}

/// Sends `sig` to `target` (a pid, minus a process group, or -1 for everything reaper may
/// signal). nix's `kill` takes no real-time signal. Errors are the caller's to log.
pub fn send(target: libc::pid_t, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill has no memory-safety preconditions.
    Errno::result(unsafe { libc::kill(target, sig) }).map(drop)
}

/// Opens a pidfd (`pidfd_open(2)`, Linux 5.3): a handle on the process that has `pid` now,
/// which a later process given the same pid is not. Close-on-exec, as every pidfd is. nix
/// has no wrapper. ENOSYS on older kernels: the caller then signals by pid, as before.
pub fn pidfd_open(pid: libc::pid_t) -> Result<std::os::fd::OwnedFd, Errno> {
    use std::os::fd::{FromRawFd, OwnedFd, RawFd};
    // SAFETY: a raw syscall with integer arguments only.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    let fd = RawFd::try_from(Errno::result(fd)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just made this descriptor for us, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends `sig` to the process behind a pidfd (`pidfd_send_signal(2)`): ESRCH once it has
/// exited, whoever has its pid by then.
pub fn pidfd_send(pidfd: std::os::fd::BorrowedFd<'_>, sig: i32) -> Result<(), Errno> {
    use std::os::fd::AsRawFd;
    // SAFETY: a raw syscall on a live descriptor; no siginfo (the kernel fills one in as
    // for kill) and no flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0 as libc::c_uint,
        )
    };
    Errno::result(r).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let set = SigSet::of(libc::SIGUSR1);
            set_mask(set);
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
            set_disposition(libc::SIGCHLD, libc::SIG_IGN);
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
