//! reaper's own process state: subreaper registration, the parent-death signal, closed
//! standard descriptors, and the working directory.
//!
//! Nothing here touches the application: whatever reaper changes in itself either happens
//! after the child is forked (the working directory) or does not survive exec
//! (close-on-exec descriptors).

use std::os::fd::{FromRawFd, OwnedFd};

use crate::os_error::OsError;

/// Registers reaper as the child subreaper when it is not PID 1, so that orphans below it
/// are reparented to it rather than to whatever init is above. Being nested under another
/// init (`docker run --init` with reaper as ENTRYPOINT, a shared pod PID namespace) is
/// normal, so it is only a debug line.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if r == 0 {
        log::debug!("not PID 1: registered as child subreaper");
    } else {
        log::warn!(
            "not PID 1 and failed to become a child subreaper: {}; orphans will not be reaped",
            OsError::last()
        );
    }
}

/// Asks the kernel to send `sig` to reaper when its parent dies.
pub fn set_pdeath_signal(sig: i32, parent_at_start: libc::pid_t) {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } != 0 {
        log::warn!("failed to set the parent-death signal: {}", OsError::last());
        return;
    }
    // If the parent died before the request, the kernel will never send it: do it now,
    // as the kernel would have (raise would make it look like reaper's own doing, which
    // is never forwarded). As PID 1 the parent is outside the namespace, 0 either way.
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } != parent_at_start {
        crate::signals::queue_to_self(sig);
    }
}

/// Puts `/dev/null`, close-on-exec, in place of any of stdin, stdout and stderr that is
/// closed. reaper's own log lines then go nowhere instead of into a descriptor it opens
/// later, and the application still finds the descriptor closed, as reaper got it.
pub fn guard_closed_stdio() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1 {
            continue;
        }
        // open takes the lowest free descriptor: `fd` itself, as the lower ones are open.
        // SAFETY: a valid C string and flags.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
        if null > fd {
            // SAFETY: we own `null` and nobody else knows of it.
            drop(unsafe { OwnedFd::from_raw_fd(null) });
        }
    }
}

/// Moves reaper out of the application's working directory, so that a long-lived reaper
/// does not keep a mount busy (as catatonit does). Called once the child has its own.
pub fn leave_working_directory() {
    if let Err(e) = nix::unistd::chdir("/") {
        log::debug!("failed to change to /: {}", OsError(e));
    }
}
