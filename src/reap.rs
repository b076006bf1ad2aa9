//! Collecting exited children, and what a wait status means as an exit code.
//!
//! Standard signals do not queue: a thousand children that exit at once may leave a single
//! SIGCHLD pending. So every SIGCHLD drains `waitpid(-1, WNOHANG)` until nothing is left
//! to collect. This module only reaps; it signals nobody.
//!
//! When reaper can read its cgroup's out-of-memory kill count (`oom`), each exited child
//! is first looked at without being reaped (`waitid` with `WNOWAIT`): one that SIGKILL
//! killed is checked against the count, and named from /proc while it is still there.
//! That is one `waitid` more per child, and a read of the count per SIGKILL death.
//!
//! `waitpid` is called raw (`sys::wait`): nix's wrapper turns the status of a child killed
//! by a real-time signal into EINVAL after the kernel has reaped it, and the main child's
//! status must never be lost.

use nix::errno::Errno;
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::oom::{Counter, Victim};
use crate::{status, sys};

/// A child reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub pid: libc::pid_t,
    /// Its wait status.
    pub status: i32,
    /// The out-of-memory killer killed it (and it was named in the log).
    pub oom: Option<Victim>,
}

/// What is left after a drain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Children {
    /// Some children are still running; another SIGCHLD will come when one exits.
    Running,
    /// reaper has no child left at all, running or zombie (`ECHILD`).
    None,
}

/// Reaps every child that has exited, calling `on_exit` for each, and says whether any
/// child is left; `oom`, when reaper can read it, tells which ones the out-of-memory killer
/// killed. Allocates nothing (but to name one the killer killed): it runs once per SIGCHLD.
pub fn drain(mut oom: Option<&mut Counter>, mut on_exit: impl FnMut(Exit)) -> Children {
    loop {
        let next = match oom.as_deref_mut() {
            Some(counter) => reap_watching(counter),
            None => sys::wait::reap_one(-1).map(|r| r.map(|(pid, status)| plain(pid, status))),
        };
        match next {
            Ok(Some(exit)) => on_exit(exit),
            Ok(None) => return Children::Running,
            Err(Errno::EINTR) => {}
            Err(Errno::ECHILD) => return Children::None,
            Err(e) => {
                // Only EINVAL is documented besides these, and the arguments are constant.
                log::error!("failed to reap children: {}", crate::error::describe(e));
                return Children::None;
            }
        }
    }
}

fn plain(pid: libc::pid_t, status: i32) -> Exit {
    Exit {
        pid,
        status,
        oom: None,
    }
}

/// Reaps one exited child, first looked at as a zombie: when SIGKILL killed it and the
/// out-of-memory kill count grew, it is named from /proc before it is gone.
fn reap_watching(counter: &mut Counter) -> Result<Option<Exit>, Errno> {
    let Some((pid, sigkilled)) = sys::wait::peek_exited()? else {
        return Ok(None);
    };
    let oom = (sigkilled && counter.claims_one()).then(|| Victim::of(pid));
    oom.iter().for_each(Victim::report);
    // Still there: reaper is the only one to reap its children. Any child, should it not be.
    let reaped = match sys::wait::reap_one(pid)? {
        Some(reaped) => Some(reaped),
        None => sys::wait::reap_one(-1)?,
    };
    Ok(reaped.map(|(pid, status)| Exit {
        pid,
        status,
        oom: oom.filter(|v| v.pid == pid),
    }))
}

/// The stop signal of `pid`, if it has stopped since last asked; it stays a child either
/// way (WSTOPPED without WEXITED reports stops only, and an exit is left for `drain`).
/// nix's `waitid` will do: only standard signals stop a process.
pub fn stopped(pid: libc::pid_t) -> Option<i32> {
    let flags = WaitPidFlag::WSTOPPED | WaitPidFlag::WNOHANG;
    match nix::sys::wait::waitid(Id::Pid(Pid::from_raw(pid)), flags) {
        Ok(WaitStatus::Stopped(stopped, sig)) if stopped.as_raw() == pid => Some(sig as i32),
        _ => None,
    }
}

/// The exit code a shell would report for a wait status: the code itself for a normal
/// exit, 128+N for death by signal N.
pub fn exit_code(status: i32) -> u8 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status) as u8
    } else if libc::WIFSIGNALED(status) {
        status::killed_by(libc::WTERMSIG(status))
    } else {
        // Stopped or continued: `drain` does not ask for those, so this is unreachable in
        // practice; report a generic failure rather than pretend success.
        status::FAILED
    }
}

/// Held by every unit test that reaps any child (`drain` waits for pid -1) and by every one
/// that needs its own child's status: the first would take the second's. One at a time.
#[cfg(test)]
pub static REAPING: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    /// Wait statuses as the kernel encodes them (see wait(2) and <bits/waitstatus.h>).
    fn exited(code: i32) -> i32 {
        (code & 0xff) << 8
    }
    fn signaled(sig: i32, core: bool) -> i32 {
        sig | if core { 0x80 } else { 0 }
    }

    #[test]
    fn exit_codes() {
        for code in 0..=255 {
            assert_eq!(exit_code(exited(code)), code as u8);
        }
        assert_eq!(exit_code(signaled(libc::SIGKILL, false)), 137);
        assert_eq!(exit_code(signaled(libc::SIGTERM, false)), 143);
        assert_eq!(exit_code(signaled(libc::SIGINT, false)), 130);
        assert_eq!(exit_code(signaled(libc::SIGSEGV, true)), 139);
        assert_eq!(exit_code(signaled(64, false)), 192);
        // A stop status (0x7f in the low byte) is neither an exit nor a death.
        assert_eq!(exit_code((libc::SIGSTOP << 8) | 0x7f), 1);
    }

    #[test]
    fn drain_reports_each_child_and_then_none() {
        let _one_at_a_time = REAPING.lock();
        // Reaped by `drain`, not by std: `wait` would race it.
        #[allow(clippy::zombie_processes)]
        let pids: Vec<libc::pid_t> = (40..43)
            .map(|code| {
                let child = std::process::Command::new("sh")
                    .args(["-c", &format!("exit {code}")])
                    .spawn()
                    .expect("spawn sh");
                child.id() as libc::pid_t
            })
            .collect();
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        // Other tests in this process may fork too, so keep only our own children.
        while seen.len() < 3 && std::time::Instant::now() < deadline {
            drain(None, |exit| {
                if pids.contains(&exit.pid) {
                    seen.push((exit.pid, exit_code(exit.status)));
                }
            });
            std::thread::yield_now();
        }
        seen.sort();
        let mut want: Vec<_> = pids.iter().zip(40u8..).map(|(&p, c)| (p, c)).collect();
        want.sort();
        assert_eq!(seen, want);
    }

    #[test]
    fn a_child_sigkilled_while_the_count_grew_is_named_before_it_is_reaped() {
        let _one_at_a_time = REAPING.lock();
        let path = std::env::temp_dir().join(format!("reaper-oom-drain-{}", std::process::id()));
        std::fs::write(&path, "oom_kill 0\n").expect("write the count");
        let mut counter = Counter::at(&path);
        // Reaped by `drain`, not by std.
        #[allow(clippy::zombie_processes)]
        let child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as libc::pid_t;
        std::fs::write(&path, "oom_kill 1\n").expect("write the count");
        crate::signals::send(pid, libc::SIGKILL).expect("kill sleep");
        let mut seen = None;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while seen.is_none() && std::time::Instant::now() < deadline {
            drain(Some(&mut counter), |exit| {
                if exit.pid == pid {
                    seen = Some(exit);
                }
            });
            std::thread::yield_now();
        }
        std::fs::remove_file(&path).expect("remove the count");
        let exit = seen.expect("the child was reaped");
        assert_eq!(exit.status, libc::SIGKILL);
        assert_eq!(
            exit.oom.map(|v| v.to_string()),
            Some(format!("process {pid} (sleep)"))
        );
    }
}
