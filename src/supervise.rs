//! The loop: sleep until a signal is pending, then reap or forward it.
//!
//! One `rt_sigtimedwait` per event and nothing else while idle: no timer, no poll, no
//! handler. Per SIGCHLD, one `waitpid` per exited child plus one; per forwarded signal, one
//! `kill`. Nothing in the loop allocates unless a log line at that level is enabled.
//!
//! The kernel hands out the lowest-numbered pending signal first, so a steady flood of
//! signals numbered below SIGCHLD (17: SIGHUP, SIGUSR1, SIGTERM, ...) would keep SIGCHLD
//! pending for ever: zombies would pile up and the main child's exit would go unseen. So
//! after every `REAP_EVERY` other signals the loop reaps as if SIGCHLD had come.

use crate::cli::{ExitCodeSet, Rewrites};
use crate::reap;
use crate::signals::{self, SigSet};

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

/// Where forwarded signals go and what is done with the main child's status.
pub struct Supervisor {
    pub child: libc::pid_t,
    pub single_child: bool,
    pub rewrite: Rewrites,
    pub remap_exit: ExitCodeSet,
    pub warn_on_reap: bool,
    pub own_pid: libc::pid_t,
}

impl Supervisor {
    /// Runs until the main child exits; returns its final exit status.
    pub fn run(&self) -> u8 {
        let target = if self.single_child {
            self.child
        } else {
            -self.child
        };
        let mut pacer = ReapPacer(0);
        loop {
            let Some(sig) = signals::wait(SigSet::handled(), None) else {
                continue;
            };
            if sig.signo == libc::SIGCHLD {
                // Reaped below.
            } else if sig.is_self_inflicted(self.own_pid) {
                // Dropped without a word: a log line about a SIGPIPE from a broken stderr
                // would raise the next one, forever.
            } else {
                forward(target, sig.signo, &self.rewrite);
            }
            if pacer.due(sig.signo) {
                let mut main_status = None;
                reap::drain(|pid, status| {
                    if pid == self.child {
                        main_status = Some(status);
                    } else {
                        report_orphan(pid, status, self.warn_on_reap);
                    }
                });
                if let Some(status) = main_status {
                    return self.final_status(status);
                }
            }
        }
    }

    fn final_status(&self, status: i32) -> u8 {
        let code = reap::exit_code(status);
        if self.remap_exit.contains(code) {
            log::info!("main child exited with status {code}, remapped to 0");
            0
        } else {
            log::info!("main child exited with status {code}");
            code
        }
    }
}

fn forward(target: libc::pid_t, sig: i32, rewrite: &Rewrites) {
    let Some(to) = rewrite.apply(sig) else {
        log::debug!("dropping {} (rewritten to 0)", signals::name(sig));
        return;
    };
    match signals::send(target, to) {
        Ok(()) => log::debug!(
            "forwarded {} as {} to {}",
            signals::name(sig),
            signals::name(to),
            Target(target)
        ),
        Err(e) => log::debug!(
            "failed to forward {} to {}: {e}",
            signals::name(to),
            Target(target)
        ),
    }
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

/// `--pause`: reap whatever is reparented to reaper until SIGTERM or SIGINT; the status
/// is then 0.
pub fn pause(warn_on_reap: bool, own_pid: libc::pid_t) -> u8 {
    let mut pacer = ReapPacer(0);
    loop {
        let Some(sig) = signals::wait(SigSet::handled(), None) else {
            continue;
        };
        if pacer.due(sig.signo) {
            reap::drain(|pid, status| report_orphan(pid, status, warn_on_reap));
        }
        match sig.signo {
            libc::SIGCHLD => {}
            // Without a word, as in the loop: see `Supervisor::run`.
            _ if sig.is_self_inflicted(own_pid) => {}
            libc::SIGTERM | libc::SIGINT => {
                log::info!("{} received: ending", signals::name(sig.signo));
                return 0;
            }
            other => log::debug!(
                "ignoring {}: there is no child to forward it to",
                signals::name(other)
            ),
        }
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
