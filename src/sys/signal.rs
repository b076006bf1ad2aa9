//! The signal system calls, on the kernel's own 64-bit set.
//!
//! Raw, every one: the C libraries refuse to put their internal real-time signals (32 to
//! 34) in a `sigset_t`, and nix's wrappers (`sigprocmask`, `sigtimedwait`, `signalfd`,
//! `sigaction`, `kill`, `set_pdeathsig`) take only the 31 standard signals; reaper is
//! single-threaded, so it can block, take and forward them like any other. `set_mask` and
//! `set_disposition` are one syscall each on the caller's stack: async-signal-safe, for the
//! child between clone and exec.

use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;

use crate::signo::SigSet;

/// The size of the kernel's signal set, as the raw syscalls take it: a `size_t`, which
/// must go through `syscall`'s variadic arguments at its full width.
const SIGSET_SIZE: libc::size_t = 8;

/// One signal taken off the pending set, as the kernel's siginfo describes it.
#[derive(Debug, Clone, Copy)]
pub struct Taken {
    pub signo: i32,
    pub code: i32,
    /// The sender's pid; meaningful only for the codes of a signal a process sent.
    pub pid: libc::pid_t,
}

/// `rt_sigprocmask(how, set)`: returns the mask before. None changes nothing. Raw: the
/// 64-bit set (nix's `sigprocmask` takes a libc `sigset_t`).
pub fn sigprocmask(how: libc::c_int, set: Option<SigSet>) -> Result<SigSet, Errno> {
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
    Errno::result(r).map(|_| SigSet::from_bits(old))
}

/// Sets the calling thread's mask. Async-signal-safe (one raw syscall), for use between
/// clone and exec. Raw: the 64-bit set.
pub fn set_mask(mask: SigSet) {
    // SAFETY: a pointer to a live u64 and no old-mask pointer; errors are impossible for a
    // valid `how` and size, and there would be nothing to do about one in the child.
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

/// One `rt_sigtimedwait` for one of `set`, sleeping at most `timeout` (the kernel's own
/// timespec for this syscall: two longs on every architecture, whatever time_t width the C
/// library has chosen). `Err(EAGAIN)` when the timeout passed. Raw: the 64-bit set (nix has
/// no `sigtimedwait`, and libc's takes a `sigset_t`).
pub fn sigtimedwait(set: SigSet, timeout: Option<[libc::c_long; 2]>) -> Result<Taken, Errno> {
    let ts_ptr = timeout
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const [libc::c_long; 2]);
    let mut info = MaybeUninit::<libc::siginfo_t>::zeroed();
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
    let signo = Errno::result(r)? as i32;
    // SAFETY: zeroed, then filled by the kernel for the signal it returned.
    let info = unsafe { info.assume_init() };
    // SAFETY: si_pid is read from the union's sender part, which every siginfo has
    // (zero for a code that names no sender; the caller looks at the code first).
    let pid = unsafe { info.si_pid() };
    Ok(Taken {
        signo,
        code: info.si_code,
        pid,
    })
}

/// The process's one signalfd, once `signalfd` made it: never closed, so that it can be
/// lent for the process's life.
static SIGNALFD: AtomicI32 = AtomicI32::new(-1);

/// Makes the process's one signalfd (close-on-exec, `signalfd4`), for `set`, or changes it
/// to take `set`. Raw: nix's `SignalFd` takes only the standard signals.
pub fn signalfd(set: SigSet) -> Result<BorrowedFd<'static>, Errno> {
    let fd = signalfd4(SIGNALFD.load(Ordering::Relaxed), set)?;
    SIGNALFD.store(fd, Ordering::Relaxed);
    // SAFETY: the kernel made this descriptor for this static, which never closes it.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// The signalfd, if `signalfd` made one.
pub fn the_signalfd() -> Option<BorrowedFd<'static>> {
    let fd = SIGNALFD.load(Ordering::Relaxed);
    // SAFETY: -1, or the descriptor `signalfd` made, which is never closed.
    (fd >= 0).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
}

fn signalfd4(fd: RawFd, set: SigSet) -> Result<RawFd, Errno> {
    // SAFETY: a pointer to a live u64 of the kernel's sigset size; `fd` is -1 or the
    // signalfd of `SIGNALFD`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_signalfd4,
            fd,
            &set.bits() as *const u64,
            SIGSET_SIZE,
            libc::SFD_CLOEXEC,
        )
    };
    Errno::result(r).map(|fd| fd as RawFd)
}

/// One read from a signalfd, which takes one pending signal with its siginfo as
/// `rt_sigtimedwait` does. A short read is an error (with whatever errno was last). Raw:
/// straight into the kernel's struct (nix's `SignalFd` is not the one made here).
pub fn read_signalfd(fd: BorrowedFd<'_>) -> Result<Taken, Errno> {
    let mut info = MaybeUninit::<libc::signalfd_siginfo>::zeroed();
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: a writable buffer of exactly one signalfd_siginfo, on a borrowed descriptor.
    let n = unsafe { libc::read(fd.as_raw_fd(), info.as_mut_ptr().cast(), size) };
    if n != size as isize {
        return Err(Errno::last());
    }
    // SAFETY: zeroed, and the kernel filled the whole struct.
    let info = unsafe { info.assume_init() };
    Ok(Taken {
        signo: info.ssi_signo as i32,
        code: info.ssi_code,
        pid: info.ssi_pid as libc::pid_t,
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

/// The handler of `sig` (SIG_DFL, SIG_IGN or a function's address). Raw: nix's `sigaction`
/// takes only the standard signals and goes through the C library's struct.
pub fn disposition(sig: i32) -> Result<libc::sighandler_t, Errno> {
    let mut old = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    // SAFETY: raw rt_sigaction reading into a live struct of the kernel's layout.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            std::ptr::null::<KernelSigaction>(),
            &mut old as *mut KernelSigaction,
            SIGSET_SIZE,
        )
    };
    Errno::result(r).map(|_| old.handler)
}

/// Sets `sig` to SIG_DFL or SIG_IGN. One raw syscall, touching no memory of the C
/// library's: async-signal-safe, for the child too. Raw: as `disposition`.
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

/// Queues `sig` to the caller with SI_USER and sender pid 0, as the kernel sends a
/// parent-death signal. nix has no `rt_sigqueueinfo`.
pub fn queue_to_self(sig: i32) -> Result<(), Errno> {
    let info = MaybeUninit::<libc::siginfo_t>::zeroed();
    // SAFETY: a zeroed siginfo_t is a valid one: its sender pid stays 0.
    let mut info = unsafe { info.assume_init() };
    info.si_signo = sig;
    info.si_code = libc::SI_USER;
    let me = nix::unistd::getpid().as_raw();
    // SAFETY: a live siginfo; queueing to one's own pid may use any si_code.
    let r = unsafe {
        libc::syscall(
            libc::SYS_rt_sigqueueinfo,
            me,
            sig,
            &info as *const libc::siginfo_t,
        )
    };
    Errno::result(r).map(drop)
}

/// Asks the kernel to send `sig` to the caller when its parent dies. Raw: nix's
/// `set_pdeathsig` takes no real-time signal.
pub fn set_parent_death_signal(sig: i32) -> Result<(), Errno> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) };
    Errno::result(r).map(drop)
}

/// `kill(target, sig)`. Raw: nix's `kill` takes no real-time signal.
pub fn kill(target: libc::pid_t, sig: i32) -> Result<(), Errno> {
    // SAFETY: kill has no memory-safety preconditions.
    Errno::result(unsafe { libc::kill(target, sig) }).map(drop)
}

/// `pidfd_open(pid, 0)` (Linux 5.3): a close-on-exec handle on the process that has `pid`
/// now. Raw: nix has no wrapper.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, Errno> {
    // SAFETY: a raw syscall with integer arguments only.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    let fd = RawFd::try_from(Errno::result(fd)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just made this descriptor for us, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `pidfd_send_signal(pidfd, sig)`: ESRCH once the process has exited. Raw: nix has no
/// wrapper.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> Result<(), Errno> {
    // SAFETY: a raw syscall on a borrowed descriptor; no siginfo (the kernel fills one in
    // as for kill) and no flags.
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
