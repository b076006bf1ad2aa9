//! The loop: sleep until a signal is pending, then reap or forward it, until the main
//! child exits (or, with no main child, until SIGTERM or SIGINT).
//!
//! One `rt_sigtimedwait` per event and nothing else while idle: no timer, no poll, no
//! handler. Per SIGCHLD, one `waitpid` per exited child plus one; per forwarded signal, one
//! `kill`. Nothing in the loop allocates unless a log line at that level is enabled.
//!
//! The kernel hands out the lowest-numbered pending signal first, so a steady flood of
//! signals numbered below SIGCHLD (17: SIGHUP, SIGUSR1, SIGTERM, ...) would keep SIGCHLD
//! pending for ever: zombies would pile up and the main child's exit would go unseen. So
//! after every `REAP_EVERY` other signals the loop reaps as if SIGCHLD had come.

use crate::cli::{Config, ExitCodeSet, Rewrites};
use crate::error::describe;
use crate::reap;
use crate::signals;
use crate::signo::{self, SigSet};

/// How many signals in a row may be handled before reaping regardless of SIGCHLD.
const REAP_EVERY: u32 = 16;

/// Whether to reap now: on SIGCHLD, and after `REAP_EVERY` other signals in a row.
struct ReapPacer(u32);

impl ReapPacer {
    fn due(&mut self, signo: i32) -> bool {
        self.0 += 1;
        if signo == libc::SIGCHLD || self.0 >= REAP_EVERY {
            self.0 = 0;
            return true;
        }
        false
    }
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    /// The final exit status: the main child's, or 0 when `--pause` ends.
    pub status: u8,
    /// The process group that was forwarded a signal asking it to end, if any: its
    /// members are in their own shutdown, which a second SIGTERM would cut short.
    pub asked_to_end: Option<libc::pid_t>,
}

/// Runs the loop until the main child exits. With no main child (`--pause`) it runs until
/// SIGTERM or SIGINT.
pub fn supervise(config: &Config, main_child: Option<libc::pid_t>) -> Ended {
    let target = main_child.map(|child| if config.single_child { child } else { -child });
    let mut asked_to_end = None;
    let mut pacer = ReapPacer(0);
    loop {
        let Some(sig) = signals::wait(SigSet::handled(), None) else {
            continue;
        };
        match (sig.signo, target) {
            (libc::SIGCHLD, _) => {} // Reaped below.
            (libc::SIGXCPU, _) if sig.is_self_inflicted() => {
                log::warn!("reaper's own CPU time limit is exceeded (SIGXCPU): not forwarded");
            }
            // Dropped without a word: a log line about a SIGPIPE from a broken stderr
            // would raise the next one, forever.
            _ if sig.is_self_inflicted() => {}
            (signo, Some(target)) => {
                if forward(target, signo, &config.rewrite).is_some_and(signo::asks_to_end)
                    && target < 0
                {
                    asked_to_end = Some(-target);
                }
            }
            (libc::SIGTERM | libc::SIGINT, None) => {
                log::info!("{} received: ending", signo::name(sig.signo));
                return Ended {
                    status: 0,
                    asked_to_end,
                };
            }
            (signo, None) => log::debug!(
                "ignoring {}: there is no child to forward it to",
                signo::name(signo)
            ),
        }
        if pacer.due(sig.signo) {
            let mut main_status = None;
            reap::drain(|pid, status| {
                if Some(pid) == main_child {
                    main_status = Some(status);
                } else {
                    report_orphan(pid, status, config.warn_on_reap);
                }
            });
            if let Some(status) = main_status {
                return Ended {
                    status: final_status(status, &config.remap_exit),
                    asked_to_end,
                };
            }
        }
    }
}

fn final_status(status: i32, remap_exit: &ExitCodeSet) -> u8 {
    let code = reap::exit_code(status);
    if remap_exit.contains(code) {
        log::info!("main child exited with status {code}, remapped to 0");
        0
    } else {
        log::info!("main child exited with status {code}");
        code
    }
}

/// Forwards `sig` to `target` as `--rewrite` says, and returns the signal sent. One that
/// asks the application to end is followed by SIGCONT: a stopped process keeps it pending
/// until it is continued, and would hold up the end until the runtime's SIGKILL.
fn forward(target: libc::pid_t, sig: i32, rewrite: &Rewrites) -> Option<i32> {
    let Some(to) = rewrite.apply(sig) else {
        log::debug!("dropping {} (rewritten to 0)", signo::name(sig));
        return None;
    };
    match signals::send(target, to) {
        Ok(()) => log::debug!(
            "forwarded {} as {} to {}",
            signo::name(sig),
            signo::name(to),
            Target(target)
        ),
        Err(e) => log::debug!(
            "failed to forward {} to {}: {}",
            signo::name(to),
            Target(target),
            describe(e)
        ),
    }
    if signo::asks_to_end(to) {
        let _ = signals::send(target, libc::SIGCONT);
    }
    Some(to)
}

struct Target(libc::pid_t);

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 < 0 {
            write!(f, "process group {}", -self.0)
        } else {
            write!(f, "process {}", self.0)
        }
    }
}

/// Logs a reaped process that is not the main child.
pub fn report_orphan(pid: libc::pid_t, status: i32, warn: bool) {
    if warn {
        log::warn!(
            "reaped process {pid} (exit status {})",
            reap::exit_code(status)
        );
    } else {
        log::debug!(
            "reaped process {pid} (exit status {})",
            reap::exit_code(status)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaping_is_due_on_sigchld_and_after_a_run_of_other_signals() {
        let mut pacer = ReapPacer(0);
        assert!(pacer.due(libc::SIGCHLD));
        for _ in 1..REAP_EVERY {
            assert!(!pacer.due(libc::SIGUSR1));
        }
        assert!(
            pacer.due(libc::SIGUSR1),
            "a flood of low signals must not starve reaping"
        );
        assert!(!pacer.due(libc::SIGTERM));
        assert!(pacer.due(libc::SIGCHLD));
        assert!(!pacer.due(libc::SIGUSR1));
    }
}
