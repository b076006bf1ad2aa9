//! Starting the application so that it cannot tell reaper is there.
//!
//! The child gets its own process group (the target of forwarded signals), the terminal's
//! foreground when reaper had it, and the signal mask reaper inherited; reaper changes no
//! disposition, so the inherited ones (an ignored SIGPIPE, say) pass through untouched.
//! Every descriptor reaper opens is close-on-exec. An exec failure comes back to the
//! parent through a close-on-exec pipe, so reaper itself reports it.

use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

use nix::errno::Errno;

use crate::os_error::OsError;
use crate::signals::SigSet;

/// Why the application could not be started.
#[derive(Debug)]
pub enum Error {
    /// reaper could not set the child up (pipe, fork): exit 1.
    Setup { step: &'static str, errno: Errno },
    /// The command could not be executed: exit 127 when not found, 126 otherwise. The
    /// child, `pid`, has already exited with that code and is left for the loop to reap.
    Exec {
        program: String,
        errno: Errno,
        pid: libc::pid_t,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Setup { step, errno } => write!(f, "failed to {step}: {}", OsError(*errno)),
            Error::Exec { program, errno, .. } => {
                write!(f, "cannot run '{program}': {}", OsError(*errno))
            }
        }
    }
}

/// The exit code for a failed exec, as shells and Docker report it.
fn exec_failure_code(errno: Errno) -> i32 {
    if errno == Errno::ENOENT { 127 } else { 126 }
}

/// Starts `argv` with `mask` as its signal mask. Returns the child's pid, which is also
/// its process group id.
pub fn spawn(argv: &[OsString], mask: SigSet) -> Result<libc::pid_t, Error> {
    let program = argv
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Everything the child needs is built before fork: after it, no allocation.
    let c_args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.clone().into_vec()))
        .collect::<Result<_, _>>()
        // Unreachable from a real argv, whose words are C strings already.
        .map_err(|_| Error::Setup {
            step: "pass an argument with a NUL byte",
            errno: Errno::EINVAL,
        })?;
    let mut c_argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    c_argv.push(std::ptr::null());
    let take_terminal = owns_terminal_foreground();

    let (report_r, report_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|errno| Error::Setup {
            step: "create a pipe",
            errno,
        })?;

    // SAFETY: fork is sound in a single-threaded process; the child below makes only
    // async-signal-safe calls (setpgid, getpid, tcsetpgrp, rt_sigprocmask, execvp, write,
    // _exit) on memory prepared before the fork, and never returns.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::Setup {
            step: "fork",
            errno: Errno::last(),
        });
    }
    if pid == 0 {
        // SAFETY: see above; `c_argv` is a null-terminated array of valid C strings.
        unsafe { exec_child(&c_argv, mask, take_terminal, report_w.as_raw_fd()) }
    }
    drop(report_w);

    // The child does this too; doing it on both sides means the group exists before
    // either goes on, so a signal forwarded right away cannot miss it. EACCES (the child
    // has exec'd) and ESRCH (it is gone) both mean the child did it already.
    // SAFETY: setpgid has no memory-safety preconditions.
    unsafe { libc::setpgid(pid, pid) };

    match read_errno(report_r) {
        None => {
            log::info!("started '{program}' as pid {pid}");
            Ok(pid)
        }
        Some(errno) => Err(Error::Exec {
            program,
            errno,
            pid,
        }),
    }
}

/// Whether the application should become the terminal's foreground group: reaper's stdin
/// is a terminal and reaper's group is in its foreground.
fn owns_terminal_foreground() -> bool {
    // SAFETY: plain queries on fd 0, which may or may not be open.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// The child's half: set up and exec, or report errno and exit.
///
/// # Safety
/// Only between fork and exec; `argv` must be a null-terminated array of C strings.
unsafe fn exec_child(
    argv: &[*const libc::c_char],
    mask: SigSet,
    take_terminal: bool,
    report: i32,
) -> ! {
    // SAFETY: async-signal-safe calls only, on memory prepared before fork.
    unsafe {
        libc::setpgid(0, 0);
        if take_terminal {
            // Every signal is still blocked here, SIGTTOU included, so this cannot stop us.
            libc::tcsetpgrp(0, libc::getpid());
        }
        crate::signals::set_mask(mask);
        libc::execvp(argv[0], argv.as_ptr());
        let errno = Errno::last_raw();
        libc::write(
            report,
            (&errno as *const i32).cast(),
            std::mem::size_of::<i32>(),
        );
        libc::_exit(exec_failure_code(Errno::from_raw(errno)))
    }
}

/// The errno the child reported, or `None` when the pipe closed on exec.
fn read_errno(pipe: OwnedFd) -> Option<Errno> {
    let mut buf = [0u8; 4];
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(&pipe, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    (got == buf.len()).then(|| Errno::from_raw(i32::from_ne_bytes(buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_errors_map_to_shell_codes() {
        assert_eq!(exec_failure_code(Errno::ENOENT), 127);
        assert_eq!(exec_failure_code(Errno::EACCES), 126);
        assert_eq!(exec_failure_code(Errno::ENOEXEC), 126);
        assert_eq!(exec_failure_code(Errno::ENOTDIR), 126);
        let e = Error::Exec {
            program: "foo".into(),
            errno: Errno::ENOENT,
            pid: 7,
        };
        assert_eq!(e.to_string(), "cannot run 'foo': No such file or directory");
        let e = Error::Setup {
            step: "fork",
            errno: Errno::EAGAIN,
        };
        assert_eq!(
            e.to_string(),
            "failed to fork: Resource temporarily unavailable"
        );
    }
}
