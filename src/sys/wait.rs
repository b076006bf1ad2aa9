//! Collecting exited children.

use nix::errno::Errno;

/// One `waitpid(pid, WNOHANG)` (`pid` -1: any child): the pid and wait status of a child
/// that exited, `None` while children remain that have not. Raw: nix's wrapper turns the
/// status of a child killed by a real-time signal into EINVAL after the kernel has reaped
/// it.
#[inline(always)]
pub fn reap_one(pid: libc::pid_t) -> Result<Option<(libc::pid_t, i32)>, Errno> {
    let mut status = 0;
    // SAFETY: `status` is a live c_int for the kernel to fill.
    let pid = Errno::result(unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) })?;
    Ok((pid > 0).then_some((pid, status)))
}

/// One `waitid(P_ALL, WEXITED | WNOHANG | WNOWAIT)`: a child that exited, left as it is (a
/// zombie, its /proc entry still there): its pid, and whether SIGKILL killed it; `None`
/// while children remain that have not. Raw for the reason `reap_one` is.
pub fn peek_exited() -> Result<Option<(libc::pid_t, bool)>, Errno> {
    // SAFETY: siginfo_t is plain integers and unions of them: all zeros is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: `info` is a live siginfo_t for the kernel to fill.
    Errno::result(unsafe { libc::waitid(libc::P_ALL, 0, &mut info, flags) })?;
    // SAFETY: waitid filled the SIGCHLD fields; with no child exited it filled none, and
    // the zeroed pid says so.
    let pid = unsafe { info.si_pid() };
    if pid == 0 {
        return Ok(None);
    }
    // SAFETY: as for `si_pid`: a SIGCHLD siginfo, filled by waitid.
    let signo = unsafe { info.si_status() };
    Ok(Some((
        pid,
        info.si_code == libc::CLD_KILLED && signo == libc::SIGKILL,
    )))
}
