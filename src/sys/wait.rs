//! Collecting exited children.

use nix::errno::Errno;

/// One `waitpid(-1, WNOHANG)`: the pid and wait status of a child that exited, `None`
/// while children remain that have not. Raw: nix's wrapper turns the status of a child
/// killed by a real-time signal into EINVAL after the kernel has reaped it.
#[inline(always)]
pub fn reap_one() -> Result<Option<(libc::pid_t, i32)>, Errno> {
    let mut status = 0;
    // SAFETY: `status` is a live c_int for the kernel to fill.
    let pid = Errno::result(unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) })?;
    Ok((pid > 0).then_some((pid, status)))
}
