//! The loop: sleep until a signal is pending, then reap or forward it, until the main
//! child exits (or, with no main child, until SIGTERM or SIGINT). With `--wait-all` it
//! goes on after that, forwarding to every process left, until none is left: a signal
//! that asks them to end is forwarded, and never followed by a SIGKILL of reaper's own.
//!
//! One `rt_sigtimedwait` (or signalfd read) per event and nothing else while idle: no timer, no poll, no
//! handler. Per SIGCHLD, one `waitpid` per exited child plus one; per forwarded signal, one
//! `kill`, and for one that asks the app to end (SIGTERM, SIGINT, SIGQUIT) a look in
//! `/proc` for a stopped process to continue. Nothing in the loop allocates unless a log line at that level is enabled (nor
//! with `--wait-all` once the main child is gone, but as a subreaper: a forwarded signal
//! then takes a walk of `/proc` to find reaper's descendants).
//!
//! The kernel hands out the lowest-numbered pending signal first, so a steady flood of
//! signals numbered below SIGCHLD (17: SIGHUP, SIGUSR1, SIGTERM, ...) would keep SIGCHLD
//! pending for ever: zombies would pile up and the main child's exit would go unseen. So
//! after every `REAP_EVERY` other signals the loop reaps as if SIGCHLD had come.

use nix::unistd::Pid;

use crate::cli::{Config, ExitCodeSet, Rewrites};
use crate::error::describe;
use crate::reap::{self, Children};
use crate::setup::Place;
use crate::shutdown::{self, Spare};
use crate::signals;
use crate::signo::{self, SigSet};
use crate::status;
use crate::terminal::{self, Terminal};

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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ended {
    /// The final exit status: the main child's, or 0 when `--pause` ends.
    pub status: u8,
    /// Who was forwarded a signal asking it to end: they are in their own shutdown, which
    /// a second SIGTERM would cut short.
    pub asked_to_end: Spare,
    /// With `--wait-all`, once the main child has ended well: the `--remap-exit` codes,
    /// through which each later exit becomes the final status.
    later_exits_count: Option<ExitCodeSet>,
}

impl Ended {
    /// Notes the wait status of a process reaped after the main child: with `--wait-all`,
    /// when the main child ended well, the last process to end gives the final status.
    pub fn note_exit(&mut self, status: i32) {
        if let Some(remap) = &self.later_exits_count {
            self.status = remapped(reap::exit_code(status), remap);
        }
    }
}

/// Where forwarded signals go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    /// The main child's process group (negative) or the main child alone.
    App(libc::pid_t),
    /// `--wait-all`, once the main child is gone: every process left.
    Everything,
    /// `--pause`: no one.
    Nobody,
}

/// Runs the loop until the main child exits (with `--wait-all`, until no descendant is
/// left). With no main child (`--pause`) it runs until SIGTERM or SIGINT.
///
/// `terminal`: reaper's controlling terminal. Not as PID 1, when the app is stopped from
/// it, reaper stops with it (see `terminal`); as PID 1 it continues the app. With
/// `--wait-all`, once the main child is gone, reaper takes its foreground back.
pub fn supervise(
    config: &Config,
    place: Place,
    main_child: Option<libc::pid_t>,
    terminal: Option<&Terminal>,
) -> Ended {
    let mut to = match main_child {
        Some(child) if config.single_child => To::App(child),
        Some(child) => To::App(-child),
        None => To::Nobody,
    };
    let mut ended = Ended {
        // What `--pause` ends with; a main child's status replaces it.
        status: status::OK,
        asked_to_end: Spare::Nobody,
        later_exits_count: None,
    };
    // An ending signal was forwarded to the app: with `--wait-all`, the end of the main
    // child is then the end, and the teardown ends the rest as usual rather than wait for
    // processes that were never told.
    let mut asked_to_end = false;
    let mut pacer = ReapPacer(0);
    loop {
        let Some(sig) = signals::wait(SigSet::handled(), None) else {
            if signals::can_wait() {
                continue;
            }
            // Neither forwarding nor reaping can go on (signals said why): end as an init
            // must, through the teardown, with a failure of reaper's own.
            ended.status = status::FAILED;
            ended.later_exits_count = None;
            return ended;
        };
        match (sig.signo, to) {
            (libc::SIGCHLD, _) => {} // Reaped below.
            (libc::SIGXCPU, _) if sig.is_self_inflicted() => {
                log::warn!("reaper's own CPU time limit is exceeded (SIGXCPU): not forwarded");
            }
            // Dropped without a word: a log line about a SIGPIPE from a broken stderr
            // would raise the next one, forever.
            _ if sig.is_self_inflicted() => {}
            (signo, To::App(target)) => {
                let sent = forward(signo, &config.rewrite, to, place, main_child);
                if sent.is_some_and(signo::asks_to_end) {
                    asked_to_end = true;
                    if target < 0 {
                        ended.asked_to_end = Spare::Group(-target);
                    }
                }
            }
            (signo, To::Everything) => {
                let sent = forward(signo, &config.rewrite, to, place, main_child);
                // Asked to end, every process left ends in its own time: reaper goes on
                // reaping until none is left, and never escalates with a SIGKILL of its
                // own (the runtime has its own timeout, longer than `-t`'s default).
                if sent.is_some_and(signo::asks_to_end) {
                    ended.asked_to_end = Spare::Everything;
                }
                if let Some(terminal) = terminal
                    && place != Place::Pid1
                    && sent.is_some_and(terminal::is_terminal_stop)
                {
                    terminal.stop_with_the_rest();
                }
            }
            (libc::SIGTERM | libc::SIGINT, To::Nobody) => {
                log::info!("{} received: ending", signo::name(sig.signo));
                return ended;
            }
            (signo, To::Nobody) => log::debug!(
                "ignoring {}: there is no child to forward it to",
                signo::name(signo)
            ),
        }
        if pacer.due(sig.signo) {
            let mut main_exited = false;
            let children = reap::drain(|pid, status| {
                if Some(pid) == main_child {
                    main_exited = true;
                    ended.status = final_status(status, &config.remap_exit);
                    if config.wait_all && !asked_to_end && ended.status == 0 {
                        ended.later_exits_count = Some(config.remap_exit);
                    }
                } else {
                    report_orphan(pid, status, config.warn_on_reap);
                    ended.note_exit(status);
                }
            });
            if main_exited {
                if !config.wait_all || asked_to_end {
                    return ended;
                }
                log::info!("--wait-all: waiting for every process left");
                to = To::Everything;
                // As a shell takes the terminal back when its job ends: Ctrl-C, Ctrl-\ and
                // Ctrl-Z now reach reaper, which forwards them to every process left.
                if let Some(terminal) = terminal {
                    terminal.take_back();
                }
            }
            if to == To::Everything && children == Children::None {
                log::info!("--wait-all: no process left");
                return ended;
            }
            // One `waitid` more per SIGCHLD, as PID 1 or with a terminal: did the app stop?
            if let (Some(child), To::App(_)) = (main_child, to)
                && (place == Place::Pid1 || terminal.is_some())
                && let Some(sig) = reap::stopped(child).filter(|&s| terminal::is_terminal_stop(s))
            {
                app_stopped(Pid::from_raw(child), sig, place, terminal);
            }
        }
    }
}

/// The app, group `app`, was stopped by `sig`, a terminal's stop signal (SIGTSTP, SIGTTIN,
/// SIGTTOU). Not as PID 1, reaper is the job the shell sees (see `terminal`). As PID 1 no
/// shell is there to continue it (Ctrl-Z under `docker run -it`), and an app that was
/// itself PID 1 would not have stopped at all: reaper continues it. Info, not a warning:
/// the app only sees what it would see without an init, and a line on the terminal would
/// land in a full-screen app's screen (an editor or pager stops itself on Ctrl-Z and
/// redraws on SIGCONT).
fn app_stopped(app: Pid, sig: i32, place: Place, terminal: Option<&Terminal>) {
    match (place, terminal) {
        (Place::Pid1, Some(terminal)) if sig != libc::SIGTSTP && !terminal.can_continue(app) => {
            log::info!(
                "the app was stopped by {} in the background: it stays stopped until continued",
                signo::name(sig)
            );
        }
        (Place::Pid1, _) => {
            log::info!(
                "the app was stopped by {}: continuing it (as PID 1, no shell can)",
                signo::name(sig)
            );
            if let Err(e) = signals::send(-app.as_raw(), libc::SIGCONT) {
                log::debug!("failed to continue the app: {}", describe(e));
            }
        }
        (_, Some(terminal)) => terminal.app_stopped(app, sig),
        (_, None) => {}
    }
}

fn final_status(status: i32, remap_exit: &ExitCodeSet) -> u8 {
    let code = reap::exit_code(status);
    let status = remapped(code, remap_exit);
    if status != code {
        log::info!("main child exited with status {code}, remapped to 0");
    } else {
        log::info!("main child exited with status {code}");
    }
    status
}

fn remapped(code: u8, remap_exit: &ExitCodeSet) -> u8 {
    if remap_exit.contains(code) { 0 } else { code }
}

/// Forwards `sig` as `--rewrite` says, and returns the signal sent. One that asks the
/// application to end is followed by SIGCONT when the target holds a stopped process: that
/// one keeps the signal pending until it is continued, and would hold up the end until the
/// runtime's SIGKILL. A running app gets only what was sent (many redraw or log on SIGCONT).
fn forward(
    sig: i32,
    rewrite: &Rewrites,
    to: To,
    place: Place,
    main_child: Option<libc::pid_t>,
) -> Option<i32> {
    let Some(sent) = rewrite.apply(sig) else {
        log::debug!("dropping {} (rewritten to 0)", signo::name(sig));
        return None;
    };
    let sigs: &[i32] = if signo::asks_to_end(sent) && holds_stopped(to, place, main_child) {
        &[sent, libc::SIGCONT]
    } else {
        &[sent]
    };
    match to {
        To::App(target) => {
            for &s in sigs {
                if let Err(e) = signals::send(target, s) {
                    shutdown::refused_or_gone(&to.to_string(), s, e);
                }
            }
        }
        To::Everything => shutdown::signal_everything(place, main_child, sigs),
        To::Nobody => return None,
    }
    log::debug!(
        "forwarded {} as {} to {to}",
        signo::name(sig),
        signo::name(sent)
    );
    Some(sent)
}

impl std::fmt::Display for To {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            To::App(group) if group < 0 => write!(f, "process group {}", -group),
            To::App(pid) => write!(f, "process {pid}"),
            To::Everything => f.write_str("every process left"),
            To::Nobody => f.write_str("no process"),
        }
    }
}

/// Whether `to` holds a stopped process (state T, or t under a debugger), as `/proc` shows
/// it: the main child first (one read), then, for a group or every process left, a walk.
/// When `/proc` cannot tell, the answer is yes: a needless SIGCONT is better than an app
/// that cannot end.
fn holds_stopped(to: To, place: Place, main_child: Option<libc::pid_t>) -> bool {
    let stopped = |s: &Stat| matches!(s.state, b'T' | b't');
    match to {
        To::Nobody => false,
        To::App(pid) if pid > 0 => read_stat(pid).is_none_or(|s| stopped(&s)),
        To::App(group) => match main_child.map(read_stat) {
            // The main child, unreadable (a /proc mounted with hidepid): no telling.
            Some(None) => true,
            Some(Some(s)) if stopped(&s) => true,
            _ => all_stats(place)
                .is_none_or(|all| all.iter().any(|s| s.pgid == -group && stopped(s))),
        },
        To::Everything => all_stats(place).is_none_or(|all| {
            all.iter().any(|s| {
                stopped(s)
                    && match place {
                        Place::Pid1 => s.pid != 1,
                        Place::Subreaper(me) => descends_from(s, me, &all),
                    }
            })
        }),
    }
}

/// What `holds_stopped` reads of `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    pid: libc::pid_t,
    state: u8,
    ppid: libc::pid_t,
    pgid: libc::pid_t,
}

fn read_stat(pid: libc::pid_t) -> Option<Stat> {
    use std::io::Read;
    // The fields needed come right after the command name; 512 bytes always reach them.
    let mut buf = [0u8; 512];
    let n = std::fs::File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut f| f.read(&mut buf))
        .ok()?;
    parse_stat(pid, &buf[..n])
}

fn parse_stat(pid: libc::pid_t, stat: &[u8]) -> Option<Stat> {
    // The command name may hold spaces and ')': the fields start after the last ')'.
    let close = stat.iter().rposition(|&c| c == b')')?;
    let mut fields = std::str::from_utf8(&stat[close + 1..])
        .ok()?
        .split_ascii_whitespace();
    Some(Stat {
        pid,
        state: *fields.next()?.as_bytes().first()?,
        ppid: fields.next()?.parse().ok()?,
        pgid: fields.next()?.parse().ok()?,
    })
}

/// Every process in `/proc`, if it is the `/proc` of reaper's own PID namespace (another
/// one names other processes by the same numbers).
fn all_stats(place: Place) -> Option<Vec<Stat>> {
    let me = match place {
        Place::Pid1 => 1,
        Place::Subreaper(me) => me,
    };
    let own = std::fs::read_link("/proc/self").ok()?;
    if own.as_os_str().to_str() != Some(me.to_string().as_str()) {
        return None;
    }
    let stats = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter_map(read_stat)
        .collect();
    Some(stats)
}

/// Whether `s` is below `root`, following parents in `all`.
fn descends_from(s: &Stat, root: libc::pid_t, all: &[Stat]) -> bool {
    let mut ppid = s.ppid;
    // A parent chain is no longer than the number of processes; the bound only guards
    // against a loop in a /proc read while it changed.
    for _ in 0..=all.len() {
        if ppid == root {
            return true;
        }
        match all.iter().find(|p| p.pid == ppid) {
            Some(p) => ppid = p.ppid,
            None => return false,
        }
    }
    false
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
    fn with_wait_all_the_last_exit_counts_once_the_main_child_ended_well() {
        let exited = |code: i32| code << 8;
        let mut ended = Ended {
            status: 0,
            asked_to_end: Spare::Nobody,
            later_exits_count: None,
        };
        ended.note_exit(exited(7));
        assert_eq!(
            ended.status, 0,
            "without --wait-all, only the main child counts"
        );
        let mut remap = ExitCodeSet::default();
        remap.insert(143);
        ended.later_exits_count = Some(remap);
        ended.note_exit(exited(7));
        assert_eq!(ended.status, 7);
        ended.note_exit(libc::SIGKILL);
        assert_eq!(ended.status, 137);
        ended.note_exit(libc::SIGTERM);
        assert_eq!(ended.status, 0, "143 is remapped");
    }

    #[test]
    fn stat_state_and_ancestry() {
        let p = |s: &[u8]| parse_stat(42, s);
        let stat = |pid, state, ppid, pgid| Stat {
            pid,
            state,
            ppid,
            pgid,
        };
        assert_eq!(p(b"42 (a) T) t 7 40 1"), Some(stat(42, b't', 7, 40)));
        assert_eq!(p(b"42 (sh) S 7"), None);
        let all = [
            stat(10, b'S', 1, 1),
            stat(20, b'S', 10, 20),
            stat(21, b'T', 20, 20),
            stat(30, b'T', 1, 30),
        ];
        assert!(descends_from(&all[2], 10, &all));
        assert!(!descends_from(&all[3], 10, &all));
        assert!(!descends_from(&all[0], 10, &all));
    }

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
