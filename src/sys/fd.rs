//! Closing the descriptors reaper inherited, and the log's non-waiting write.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

use nix::errno::Errno;

use crate::error::describe;

/// Closes reaper's copies of every descriptor from 3 up, but those in `keep` (the terminal
/// reaper opened, its log's own description of stderr): the child has its own by now, and
/// a reader waiting for EOF on a pipe, or a client of a socket, must not wait for reaper to
/// exit because reaper still holds it.
/// `close_range` where the kernel has it (Linux 5.9) and a seccomp profile allows it; else
/// each descriptor `/proc/self/fd` lists; else they stay open, which is no reason to stop.
///
/// Called once, by `run`, right after the spawn: nothing of reaper's own is open then but
/// the standard descriptors and `keep` (the /dev/null that fills a closed standard one is
/// below 3), so every descriptor it closes is one that no object in reaper owns. A
/// descriptor opened before that call and kept past it must be passed in `keep`.
pub fn close_inherited(keep: &[RawFd]) {
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
        // SAFETY: no object in reaper owns a descriptor in these ranges (above).
        .try_for_each(|&(first, last)| unsafe { close_range(first, last) });
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
            // SAFETY: as for the ranges: inherited, and owned by no object in reaper.
            .for_each(|fd| unsafe { close(fd) }),
        Err(e) => log::debug!("cannot list /proc/self/fd: {e}; inherited descriptors stay open"),
    }
}

/// Closes the descriptors `first` to `last`, both included (`close_range(2)`). Raw: nix has
/// no wrapper, nor has musl.
///
/// # Safety
/// No object in the process (an `OwnedFd`, a `File`) owns a descriptor in the range: it
/// would close the number again later, by then perhaps another's.
unsafe fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: a raw syscall on no memory; the caller vouches for the range.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    Errno::result(r).map(drop)
}

/// Closes `fd`, ignoring errors (one that is not open is what was asked for).
///
/// # Safety
/// As for `close_range`: no object in the process owns `fd`.
unsafe fn close(fd: RawFd) {
    // SAFETY: the caller vouches that nothing owns `fd`.
    unsafe { libc::close(fd) };
}

/// One `pwritev2(RWF_NOWAIT)` to `fd` at its current position: EAGAIN instead of waiting.
/// Raw: nix does not wrap pwritev2.
pub fn write_nowait(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    let iov = libc::iovec {
        iov_base: buf.as_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: one iovec over a live buffer, which the kernel only reads, on a borrowed
    // descriptor; offset -1 means the current position, as write(2) uses.
    let n = unsafe { libc::pwritev2(fd.as_raw_fd(), &iov, 1, -1, libc::RWF_NOWAIT) };
    Errno::result(n).map(|n| n as usize)
}

/// One `send(MSG_DONTWAIT | MSG_NOSIGNAL)` to `fd`, a socket: EAGAIN instead of waiting,
/// EPIPE instead of SIGPIPE. Raw: reaper does not build nix's socket feature for one call.
pub fn send_nowait(fd: BorrowedFd<'_>, buf: &[u8]) -> Result<usize, Errno> {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    // SAFETY: a live buffer of `buf.len()` bytes, which the kernel only reads, on a
    // borrowed descriptor.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags) };
    Errno::result(n).map(|n| n as usize)
}
