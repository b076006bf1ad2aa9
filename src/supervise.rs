//! The loop: sleep until a signal is pending, then reap or forward it, until the main
//! child exits (or, with no main child, until SIGTERM or SIGINT). With `--wait-all` it
//! goes on after that, forwarding to every process left, until none is left: a signal
//! that asks them to end is forwarded, and never followed by a SIGKILL of reaper's own.
//!
//! A state machine: its `Phase` (the app runs; `--restart-signal` restarts it; `--wait-all`
//! waits for the rest; `--pause`) says where a signal goes and what ends the loop; each
//! event (a signal, a reaped child, the main child's exit, a stop of the app, a deadline)
//! is one method; the kernel is `kernel::Kernel`. `--stop-delay` holds the first signal
//! that asks to end (`StopDelay`) until its deadline or a second one.
//!
//! One `rt_sigtimedwait` (or signalfd read) per event and nothing else while idle: no timer, no poll, no
//! handler. The wait has a timeout only while a signal is held or a restart runs. Per
//! SIGCHLD, one `waitpid` per exited child plus one (and, while the cgroup's
//! out-of-memory count can be read, one `waitid` more per child, and a read of the count
//! per SIGKILL death: see `reap`); per forwarded signal, one
//! `kill`, and for one that asks the app to end (SIGTERM, SIGINT, SIGQUIT) a look in
//! `/proc` for a stopped process to continue. Nothing in the loop allocates unless a log line at that level is enabled (nor
//! with `--wait-all` once the main child is gone, but as a subreaper: a forwarded signal
//! then takes a walk of `/proc` to find reaper's descendants).
//!
//! The kernel hands out the lowest-numbered pending signal first, so a steady flood of
//! signals numbered below SIGCHLD (17: SIGHUP, SIGUSR1, SIGTERM, ...) would keep SIGCHLD
//! pending for ever: zombies would pile up and the main child's exit would go unseen. So
//! after every `REAP_EVERY` other signals the loop reaps as if SIGCHLD had come.

use std::ops::ControlFlow::{self, Break, Continue};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::cli::{Config, ExitCodeSet, OnOom};
use crate::error::describe;
use crate::kernel::Kernel;
use crate::oom::Victim;
use crate::procs::Proc;
use crate::reap::{self, Children, Exit};
use crate::setup::Place;
use crate::shutdown::Spare;
use crate::shutdown::scope::{self, Notes, Scope};
use crate::signals::Received;
use crate::signo;
use crate::status;
use crate::terminal::{self, Terminal};
use crate::termination::Why;

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
    /// Why the status is what it is (the termination message).
    pub why: Why,
}

impl Ended {
    /// Notes a process reaped that is not the main child (`warn`: `--warn-on-reap`).
    pub fn note_orphan(&mut self, exit: Exit, warn: bool) {
        report_orphan(exit.pid, exit.status, warn);
        self.note_exit(exit);
    }

    /// Notes a process reaped after the main child: with `--wait-all`, when the main child
    /// ended well, the last process to end gives the final status.
    pub fn note_exit(&mut self, exit: Exit) {
        if let Some(remap) = &self.later_exits_count {
            self.status = remapped(reap::exit_code(exit.status), remap);
            self.why = Why::Ended {
                status: exit.status,
                oom: exit.oom.is_some(),
            };
        }
    }
}

/// What the supervisor is doing: the phase says where a forwarded signal goes, and what
/// ends the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The app runs: signals go to `target`, its process group (negative), or the main
    /// child alone (`--single-child`). The loop ends when the main child exits.
    App {
        child: libc::pid_t,
        target: libc::pid_t,
    },
    /// `--restart-signal`: the app's `target` was asked to end, to be started again once it
    /// is gone. Signals still go to `target`, but those that ask to end.
    Restarting(Restart),
    /// `--wait-all`, once the main child has exited: signals go to every process left,
    /// and the loop ends when none is left.
    WaitAll,
    /// `--pause`: no child to forward to; SIGTERM or SIGINT ends the loop.
    Pause,
}

/// A restart under way: the old run ends as the teardown would end it (SIGTERM and SIGCONT,
/// the grace period, SIGKILL), then the command starts again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Restart {
    child: libc::pid_t,
    target: libc::pid_t,
    /// The main child of the old run was reaped.
    main_gone: bool,
    /// When to escalate (SIGKILL), or, once killed, to stop waiting for the group;
    /// `None`: a grace period too long to represent, or a main child SIGKILL did not end.
    until: Option<Instant>,
    killed: bool,
    /// A signal asking to end came meanwhile: no new run; the loop ends instead.
    then_end: bool,
}

/// `--stop-delay`: whether the first signal asking to end is still to come, held, or done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopDelay {
    /// No `--stop-delay`, or it was used: signals asking to end go at once.
    Off,
    /// The first signal asking to end is held this long.
    Ready(Duration),
    /// `signo` (as received, before `--rewrite`) is held until `until` (`None`: a delay
    /// too long to represent, held until a second one).
    Holding { signo: i32, until: Option<Instant> },
}

/// How long reaper waits for the old run's group once it was sent SIGKILL, before it
/// starts the new run anyway (a process in uninterruptible sleep dies only when its I/O
/// ends): the teardown's `KILL_WAIT`.
const RESTART_KILL_WAIT: Duration = Duration::from_secs(2);

/// Runs the loop until the main child exits (with `--wait-all`, until no descendant is
/// left). With no main child (`--pause`) it runs until SIGTERM or SIGINT.
///
/// `terminal`: reaper's controlling terminal. Not as PID 1, when the app is stopped from
/// it, reaper stops with it (see `terminal`); as PID 1 it continues the app. With
/// `--wait-all`, once the main child is gone, reaper takes its foreground back.
pub fn supervise<K: Kernel>(
    kernel: &mut K,
    config: &Config,
    place: Place,
    main_child: Option<libc::pid_t>,
    terminal: Option<&Terminal>,
) -> Ended {
    let mut s = Supervisor {
        kernel,
        m: Machine::new(config, place, main_child, terminal),
    };
    loop {
        // A timeout only while a stop delay or a restart runs: idle, the wait has none.
        let timeout =
            s.m.deadline()
                .map(|d| d.saturating_duration_since(s.kernel.now()));
        let next = match s.kernel.wait(timeout) {
            Some(sig) => s.on_signal(sig),
            None => s.on_no_signal(),
        };
        if next.is_break() || s.on_time().is_break() {
            return s.m.ended;
        }
    }
}

/// The supervisor: the kernel it talks to, and the state it keeps.
struct Supervisor<'a, K> {
    kernel: &'a mut K,
    m: Machine<'a>,
}

/// The supervisor's state, apart from the kernel (so that a reaped child's event can
/// change it while the kernel reaps).
struct Machine<'a> {
    config: &'a Config,
    place: Place,
    terminal: Option<&'a Terminal>,
    phase: Phase,
    ended: Ended,
    /// An ending signal was forwarded to the app: with `--wait-all`, the end of the main
    /// child is then the end, and the teardown ends the rest as usual rather than wait for
    /// processes that were never told.
    asked_to_end: bool,
    /// The main child was among the processes just reaped.
    main_exited: bool,
    /// With `--on-oom exit`: the out-of-memory killer killed this process (not the main
    /// child), among those just reaped.
    oom_killed: Option<Victim>,
    /// A stop signal was forwarded since the last SIGCONT: the target may not show as
    /// stopped yet (the signal still pending), and an ending signal sent now would wait,
    /// pending, in a process that stops for good; so it is followed by SIGCONT.
    stop_forwarded: bool,
    stop_delay: StopDelay,
    pacer: ReapPacer,
}

impl<'a> Machine<'a> {
    fn new(
        config: &'a Config,
        place: Place,
        main_child: Option<libc::pid_t>,
        terminal: Option<&'a Terminal>,
    ) -> Machine<'a> {
        let phase = match main_child {
            Some(child) if config.single_child => Phase::App {
                child,
                target: child,
            },
            Some(child) => Phase::App {
                child,
                target: -child,
            },
            None => Phase::Pause,
        };
        let ended = Ended {
            // What `--pause` ends with; a main child's status replaces it.
            status: status::OK,
            asked_to_end: Spare::Nobody,
            later_exits_count: None,
            why: Why::Nothing,
        };
        Machine {
            config,
            place,
            terminal,
            phase,
            ended,
            asked_to_end: false,
            main_exited: false,
            oom_killed: None,
            stop_forwarded: false,
            stop_delay: config.stop_delay.map_or(StopDelay::Off, StopDelay::Ready),
            pacer: ReapPacer(0),
        }
    }

    /// The next moment the loop must act without a signal: a held signal's, or a
    /// restart's. `None` while idle.
    fn deadline(&self) -> Option<Instant> {
        let held = match self.stop_delay {
            StopDelay::Holding { until, .. } => until,
            _ => None,
        };
        let restart = match self.phase {
            Phase::Restarting(r) => r.until,
            _ => None,
        };
        held.into_iter().chain(restart).min()
    }

    /// Event: a child was reaped.
    fn on_exit(&mut self, exit: Exit) {
        match self.phase {
            Phase::App { child, .. } if child == exit.pid => {
                self.main_exited = true;
                self.ended.status = final_status(exit.status, &self.config.remap_exit);
                self.ended.why = Why::Ended {
                    status: exit.status,
                    oom: exit.oom.is_some(),
                };
                if self.config.wait_all && !self.asked_to_end && self.ended.status == 0 {
                    self.ended.later_exits_count = Some(self.config.remap_exit);
                }
            }
            Phase::Restarting(ref mut r) if r.child == exit.pid => {
                r.main_gone = true;
                self.ended.status = final_status(exit.status, &self.config.remap_exit);
                // The status reaper ends with when a signal ends the restart.
                self.ended.why = Why::Ended {
                    status: exit.status,
                    oom: exit.oom.is_some(),
                };
            }
            _ => {
                self.ended.note_orphan(exit, self.config.warn_on_reap);
                if self.config.on_oom == OnOom::Exit {
                    self.oom_killed = self.oom_killed.or(exit.oom);
                }
            }
        }
    }

    /// Transition: `--on-oom exit`, and the out-of-memory killer killed `victim`: the end,
    /// with 137 (SIGKILL's status, whatever `-e` says: it is reaper's verdict, not the
    /// application's), through the usual teardown.
    fn on_oom_kill(&mut self, victim: Victim) -> ControlFlow<()> {
        log::warn!("--on-oom exit: ending the container (status 137)");
        self.ended.status = status::OUT_OF_MEMORY;
        self.ended.why = Why::OomKill(victim);
        self.ended.later_exits_count = None;
        Break(())
    }

    /// Transition: the main child is gone. The end, or `--wait-all`'s wait for the rest.
    fn on_main_exit(&mut self) -> ControlFlow<()> {
        if !self.config.wait_all || self.asked_to_end {
            return Break(());
        }
        log::info!("--wait-all: waiting for every process left");
        self.phase = Phase::WaitAll;
        // As a shell takes the terminal back when its job ends: Ctrl-C, Ctrl-\ and
        // Ctrl-Z now reach reaper, which forwards them to every process left.
        if let Some(terminal) = self.terminal {
            terminal.take_back();
        }
        Continue(())
    }

    /// Why no one but reaper can continue what a terminal stopped, if so: as PID 1 no shell
    /// is there (Ctrl-Z under `docker run -it`); with a terminal, reaper's own group may be
    /// orphaned (`docker exec -it`, `ssh -t`), and a reaper that stopped itself would then
    /// stay stopped for good (see `terminal::can_be_continued`).
    fn nobody_continues(&self) -> Option<&'static str> {
        match (self.place, self.terminal) {
            (Place::Pid1, _) => Some("as PID 1, no shell can"),
            (_, Some(_)) if !terminal::can_be_continued() => {
                Some("reaper's process group is orphaned: no shell can")
            }
            _ => None,
        }
    }

    /// Event: a signal that asks to end was sent to the app's target (or to every
    /// process left).
    fn on_asked_to_end(&mut self) {
        match self.phase {
            Phase::App { target, .. } => {
                self.asked_to_end = true;
                if target < 0 {
                    self.ended.asked_to_end = Spare::Group(-target);
                }
            }
            // Asked to end, every process left ends in its own time: reaper goes on
            // reaping until none is left, and never escalates with a SIGKILL of its own
            // (the runtime has its own timeout, longer than `-t`'s default).
            Phase::WaitAll => self.ended.asked_to_end = Spare::Everything,
            Phase::Restarting(_) | Phase::Pause => {}
        }
    }

    /// Event: a signal that asks to end, `signo` (as received), is to be forwarded. With
    /// `--stop-delay`, the first one is held instead (`true`), and a second one during the
    /// delay goes at once, in its place.
    fn hold(&mut self, signo: i32, now: Instant) -> bool {
        match self.stop_delay {
            StopDelay::Ready(delay) => {
                self.stop_delay = StopDelay::Holding {
                    signo,
                    until: now.checked_add(delay),
                };
                log::info!(
                    "{} received: forwarding it in {delay:?} (--stop-delay)",
                    signo::name(signo)
                );
                true
            }
            // Forwarded at once, as the debug line says.
            StopDelay::Holding { .. } => {
                self.stop_delay = StopDelay::Off;
                false
            }
            StopDelay::Off => false,
        }
    }

    /// The held signal, if its delay is over at `now`.
    fn held_due(&mut self, now: Instant) -> Option<i32> {
        match self.stop_delay {
            StopDelay::Holding {
                signo,
                until: Some(until),
            } if until <= now => {
                self.stop_delay = StopDelay::Off;
                Some(signo)
            }
            _ => None,
        }
    }

    /// Transition: a new run, `child`, started: the app phase again, as at the start.
    fn on_started(&mut self, child: libc::pid_t) {
        let target = if self.config.single_child {
            child
        } else {
            -child
        };
        self.phase = Phase::App { child, target };
        self.asked_to_end = false;
        self.stop_forwarded = false;
        self.ended.asked_to_end = Spare::Nobody;
        self.ended.why = Why::Nothing;
    }
}

impl<K: Kernel> Supervisor<'_, K> {
    /// Event: no signal could be waited for.
    fn on_no_signal(&mut self) -> ControlFlow<()> {
        if self.kernel.can_wait() {
            return Continue(());
        }
        // Neither forwarding nor reaping can go on (signals said why): end as an init
        // must, through the teardown, with a failure of reaper's own.
        self.m.ended.status = status::FAILED;
        self.m.ended.later_exits_count = None;
        Break(())
    }

    /// Event: a signal arrived.
    fn on_signal(&mut self, sig: Received) -> ControlFlow<()> {
        match (sig.signo, self.m.phase) {
            (libc::SIGCHLD, _) => {} // Reaped below.
            (libc::SIGXCPU, _) if sig.is_self_inflicted() => {
                log::warn!("reaper's own CPU time limit is exceeded (SIGXCPU): not forwarded");
            }
            // Dropped without a word: a log line about a SIGPIPE from a broken stderr
            // would raise the next one, forever.
            _ if sig.is_self_inflicted() => {}
            (libc::SIGTERM | libc::SIGINT, Phase::Pause) => {
                log::info!("{} received: ending", signo::name(sig.signo));
                return Break(());
            }
            (signo, Phase::Pause) => log::debug!(
                "ignoring {}: there is no child to forward it to",
                signo::name(signo)
            ),
            (signo, _) if self.m.config.restart_signal == Some(signo) => {
                self.on_restart_signal(signo)?
            }
            (signo, _) => self.on_forward(signo),
        }
        if self.m.pacer.due(sig.signo) {
            return self.on_reap();
        }
        Continue(())
    }

    /// Event: a signal to forward to the app (or, with `--wait-all`, to every process):
    /// unless it asks to end and is held by `--stop-delay` or comes during a restart.
    fn on_forward(&mut self, signo: i32) {
        let rewritten = self.m.config.rewrite.apply(signo);
        if rewritten.is_some_and(signo::asks_to_end) {
            if let Phase::Restarting(ref mut r) = self.m.phase {
                // The old run was asked to end already; a new one would only be ended too.
                r.then_end = true;
                log::info!(
                    "{} received during a restart: no new run",
                    signo::name(signo)
                );
                return;
            }
            if self.m.hold(signo, self.kernel.now()) {
                return;
            }
        }
        self.send_on(signo);
    }

    /// Forwards `signo` (see `forward`), and notes what it did.
    fn send_on(&mut self, signo: i32) {
        let sent = self.forward(signo);
        if sent.is_some_and(signo::asks_to_end) {
            self.m.on_asked_to_end();
        }
        if self.m.phase == Phase::WaitAll
            && let Some(sig) = sent.filter(|&s| terminal::is_terminal_stop(s))
        {
            self.on_rest_stopped(sig);
        }
    }

    /// Event: with `--wait-all`, once the main child is gone, a terminal's stop signal
    /// (`sig`, Ctrl-Z) was forwarded to every process left. When no one but reaper can
    /// continue them, reaper does, as it does the app (see `on_app_stopped`): they see what
    /// the app would see. Otherwise reaper stops with them, the job the shell sees.
    fn on_rest_stopped(&mut self, sig: i32) {
        match (self.m.nobody_continues(), self.m.terminal) {
            (Some(why), _) => {
                log::info!(
                    "every process left was stopped by {}: continuing them ({why})",
                    signo::name(sig)
                );
                signal_everything(self.kernel, &[libc::SIGCONT]);
                self.m.stop_forwarded = false;
            }
            (None, Some(terminal)) => terminal.stop_with_the_rest(),
            (None, None) => {}
        }
    }

    /// Event: a deadline may have passed (the loop's wait timed out, or a signal came
    /// first): the held signal's, or the restart's.
    fn on_time(&mut self) -> ControlFlow<()> {
        // Nothing due (the usual case: every SIGCHLD comes through here): no clock read.
        if self.m.deadline().is_none() {
            return Continue(());
        }
        let now = self.kernel.now();
        if let Some(signo) = self.m.held_due(now) {
            self.send_on(signo);
        }
        let Phase::Restarting(r) = self.m.phase else {
            return Continue(());
        };
        if r.until.is_none_or(|until| until > now) {
            return Continue(());
        }
        if !r.killed {
            self.restart_kill();
            return self.restart_progress();
        }
        // The new run starts without the stragglers, but never beside the old main child.
        log::warn!(
            "restart: {} still there {RESTART_KILL_WAIT:?} after SIGKILL",
            self.m.phase
        );
        if r.main_gone {
            return self.start_again();
        }
        self.m.phase = Phase::Restarting(Restart { until: None, ..r });
        Continue(())
    }

    /// Event: `--restart-signal`'s `sig` arrived. The app's target gets SIGTERM and SIGCONT
    /// (SIGKILL at once with a zero grace period), as the teardown would send them; the
    /// new run starts once the old one is gone (`restart_progress`). Not once the app was
    /// asked to end (or one such signal is held): the container is ending. It reaps first:
    /// an app that already exited (its SIGCHLD pending behind `sig`, a lower number) ends
    /// the container as a crash must, and is not restarted.
    fn on_restart_signal(&mut self, sig: i32) -> ControlFlow<()> {
        self.on_reap()?;
        let name = signo::name(sig);
        let (Phase::App { child, target }, false) = (
            self.m.phase,
            self.m.asked_to_end || matches!(self.m.stop_delay, StopDelay::Holding { .. }),
        ) else {
            log::info!("ignoring {name}: no app to restart (gone, ending or restarting)");
            return Continue(());
        };
        let grace = self.m.config.grace_period;
        log::info!(
            "{name} received: restarting the app; SIGTERM to {}, then up to {grace:?} before SIGKILL",
            self.m.phase
        );
        self.m.phase = Phase::Restarting(Restart {
            child,
            target,
            main_gone: false,
            until: self.kernel.now().checked_add(grace),
            killed: false,
            then_end: false,
        });
        if grace.is_zero() {
            self.restart_kill();
            return Continue(());
        }
        for sig in [libc::SIGTERM, libc::SIGCONT] {
            if let Err(e) = self.kernel.send(target, sig) {
                scope::refused_or_gone(&self.m.phase.to_string(), sig, e);
            }
        }
        Continue(())
    }

    /// Transition: the old run's grace period is over: SIGKILL to its target, and
    /// `RESTART_KILL_WAIT` for it to be gone.
    fn restart_kill(&mut self) {
        let Phase::Restarting(r) = self.m.phase else {
            return;
        };
        match self.kernel.send(r.target, libc::SIGKILL) {
            Ok(()) => log::info!("restart: sent SIGKILL to {}", self.m.phase),
            Err(e) => scope::refused_or_gone(&self.m.phase.to_string(), libc::SIGKILL, e),
        }
        self.m.phase = Phase::Restarting(Restart {
            killed: true,
            until: self.kernel.now().checked_add(RESTART_KILL_WAIT),
            ..r
        });
    }

    /// Whether the old run is gone, its main child reaped and its target empty; then the
    /// new run starts.
    fn restart_progress(&mut self) -> ControlFlow<()> {
        let Phase::Restarting(r) = self.m.phase else {
            return Continue(());
        };
        // A member that is not reaper's child sends no SIGCHLD when it exits: at worst the
        // restart waits for the next deadline to see it gone.
        if !r.main_gone || self.kernel.send(r.target, 0) != Err(Errno::ESRCH) {
            return Continue(());
        }
        self.start_again()
    }

    /// Transition: the old run is gone: start the command again (the terminal's foreground
    /// goes from the old run's group to the new one's: `Terminal::for_the_next_run`), or
    /// end when a signal asked to.
    fn start_again(&mut self) -> ControlFlow<()> {
        let Phase::Restarting(r) = self.m.phase else {
            return Continue(());
        };
        if r.then_end {
            self.m.asked_to_end = true;
            if r.target < 0 {
                self.m.ended.asked_to_end = Spare::Group(-r.target);
            }
            return Break(());
        }
        match self.kernel.start_again() {
            Some(child) => {
                self.m.on_started(child);
                Continue(())
            }
            // Why was said; the old run's status is no status of the app's to pass on.
            None => {
                self.m.ended.status = status::FAILED;
                Break(())
            }
        }
    }

    /// Event: it is time to reap (SIGCHLD, or a run of other signals).
    fn on_reap(&mut self) -> ControlFlow<()> {
        let Supervisor { kernel, m } = self;
        let children = kernel.reap(|exit| m.on_exit(exit));
        if let Some(victim) = self.m.oom_killed.take() {
            return self.m.on_oom_kill(victim);
        }
        if std::mem::take(&mut self.m.main_exited) {
            self.m.on_main_exit()?;
        }
        if matches!(self.m.phase, Phase::Restarting(_)) {
            return self.restart_progress();
        }
        if self.m.phase == Phase::WaitAll && children == Children::None {
            log::info!("--wait-all: no process left");
            return Break(());
        }
        // One `waitid` more per SIGCHLD, as PID 1 or with a terminal: did the app stop?
        if let Phase::App { child, .. } = self.m.phase
            && (self.m.place == Place::Pid1 || self.m.terminal.is_some())
            && let Some(sig) = self
                .kernel
                .stopped(child)
                .filter(|&s| terminal::is_terminal_stop(s))
        {
            self.on_app_stopped(Pid::from_raw(child), sig);
        }
        Continue(())
    }

    /// Event: the app, group `app`, was stopped by `sig`, a terminal's stop signal (SIGTSTP, SIGTTIN,
    /// SIGTTOU). Not as PID 1, reaper is the job the shell sees (see `terminal`). As PID 1 no
    /// shell is there to continue it (Ctrl-Z under `docker run -it`), and an app that was
    /// itself PID 1 would not have stopped at all: reaper continues it. Info, not a warning:
    /// the app only sees what it would see without an init, and a line on the terminal would
    /// land in a full-screen app's screen (an editor or pager stops itself on Ctrl-Z and
    /// redraws on SIGCONT).
    ///
    /// The same where reaper's own group is orphaned: no shell could continue reaper.
    fn on_app_stopped(&mut self, app: Pid, sig: i32) {
        match (self.m.nobody_continues(), self.m.terminal) {
            (Some(_), Some(terminal)) if sig != libc::SIGTSTP && !terminal.can_continue(app) => {
                log::info!(
                    "the app was stopped by {} in the background: it stays stopped until continued",
                    signo::name(sig)
                );
            }
            (Some(why), _) => {
                log::info!(
                    "the app was stopped by {}: continuing it ({why})",
                    signo::name(sig)
                );
                if let Err(e) = self.kernel.send(-app.as_raw(), libc::SIGCONT) {
                    log::debug!("failed to continue the app: {}", describe(e));
                }
                self.m.stop_forwarded = false;
            }
            (None, Some(terminal)) => terminal.app_stopped(app, sig),
            (None, None) => {}
        }
    }

    /// Forwards `sig` as `--rewrite` says, and returns the signal sent. One that asks the
    /// application to end is followed by SIGCONT when the target holds a stopped process:
    /// that one keeps the signal pending until it is continued, and would hold up the end
    /// until the runtime's SIGKILL. A running app gets only what was sent (many redraw or
    /// log on SIGCONT).
    fn forward(&mut self, sig: i32) -> Option<i32> {
        let Some(sent) = self.m.config.rewrite.apply(sig) else {
            log::debug!("dropping {} (rewritten to 0)", signo::name(sig));
            return None;
        };
        let ends = signo::asks_to_end(sent);
        let sigs: &[i32] = if ends && (self.m.stop_forwarded || self.holds_stopped()) {
            &[sent, libc::SIGCONT]
        } else {
            &[sent]
        };
        let to = self.m.phase;
        match to {
            Phase::App { target, .. } | Phase::Restarting(Restart { target, .. }) => {
                for &s in sigs {
                    if let Err(e) = self.kernel.send(target, s) {
                        scope::refused_or_gone(&to.to_string(), s, e);
                    }
                }
            }
            Phase::WaitAll => signal_everything(self.kernel, sigs),
            Phase::Pause => return None,
        }
        if sigs.contains(&libc::SIGCONT) {
            self.m.stop_forwarded = false;
        } else if is_stop(sent) {
            self.m.stop_forwarded = true;
        }
        log::debug!(
            "forwarded {} as {} to {to}",
            signo::name(sig),
            signo::name(sent)
        );
        Some(sent)
    }

    /// Whether the target holds a stopped process (state T, or t under a debugger), as
    /// `/proc` shows it: the main child first (one read), then, for a group or every
    /// process left, a walk. When `/proc` cannot tell, the answer is yes: a needless
    /// SIGCONT is better than an app that cannot end.
    fn holds_stopped(&mut self) -> bool {
        match self.m.phase {
            // A restart sent SIGCONT itself, and forwards no signal that asks to end.
            Phase::Pause | Phase::Restarting(_) => false,
            Phase::App { target, .. } if target > 0 => {
                self.kernel.process(target).is_none_or(|s| s.stopped)
            }
            Phase::App { child, target } => match self.kernel.process(child) {
                // The main child, unreadable (a /proc mounted with hidepid): no telling.
                None => true,
                Some(s) if s.stopped => true,
                _ => self
                    .kernel
                    .processes()
                    .is_none_or(|all| all.iter().any(|s| s.pgid == -target && s.stopped)),
            },
            Phase::WaitAll => {
                let place = self.m.place;
                self.kernel.processes().is_none_or(|all| {
                    all.iter().any(|s| {
                        s.stopped
                            && match place {
                                Place::Pid1 => s.pid != 1,
                                Place::Subreaper(me) => descends_from(s, me, &all),
                            }
                    })
                })
            }
        }
    }
}

/// Whether `sig` stops a process that takes its default action.
fn is_stop(sig: i32) -> bool {
    sig == libc::SIGSTOP || terminal::is_terminal_stop(sig)
}

/// Sends `sigs`, in turn, to every process in the kernel's scope (`--wait-all`, once the
/// main child is gone): as PID 1 the whole namespace, as a subreaper its own descendants.
fn signal_everything<K: Kernel>(kernel: &mut K, sigs: &[i32]) {
    // As PID 1, no walk of /proc per forwarded signal just to count: `kill(-1)` reaches
    // everything (what it could not reach, the teardown names).
    if kernel.scope() == Scope::Namespace {
        for &sig in sigs {
            if let Err(e) = kernel.send(-1, sig) {
                log::debug!("kill(-1, {}): {}", signo::name(sig), describe(e));
            }
        }
        return;
    }
    kernel.signal_scope(sigs, None, &mut Notes::default());
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Phase::App { target, .. } | Phase::Restarting(Restart { target, .. }) if target < 0 => {
                write!(f, "process group {}", -target)
            }
            Phase::App { target, .. } | Phase::Restarting(Restart { target, .. }) => {
                write!(f, "process {target}")
            }
            Phase::WaitAll => f.write_str("every process left"),
            Phase::Pause => f.write_str("no process"),
        }
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

/// Whether `s` is below `root`, following parents in `all`.
fn descends_from(s: &Proc, root: libc::pid_t, all: &[Proc]) -> bool {
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
fn report_orphan(pid: libc::pid_t, status: i32, warn: bool) {
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
    use crate::cli::Request;
    use crate::kernel::fake::{Fake, Sent};
    use std::ffi::OsString;
    use std::time::Duration;

    const APP: libc::pid_t = 10;
    const MS: Duration = Duration::from_millis(1);

    fn config(args: &[&str]) -> Config {
        let args: Vec<OsString> = args.iter().chain(&["app"]).map(OsString::from).collect();
        match crate::cli::parse(&args, |_| None) {
            Ok(Request::Run(c)) => *c,
            _ => panic!("{args:?} is no command line"),
        }
    }

    fn exited(code: i32) -> i32 {
        code << 8
    }

    /// A fake kernel as PID 1 (or a subreaper) with the app, pid and group `APP`.
    fn fake(place: Place) -> Fake {
        let mut k = Fake::new(Scope::of(place, Some(APP)));
        k.child(APP, APP);
        k
    }

    /// Runs the supervisor with `args` until it ends.
    fn run(k: &mut Fake, args: &[&str], place: Place) -> Ended {
        supervise(k, &config(args), place, Some(APP), None)
    }

    fn kills(k: &Fake) -> Vec<(libc::pid_t, i32)> {
        k.sent
            .iter()
            .filter_map(|s| match *s {
                Sent::Kill(target, sig) => Some((target, sig)),
                Sent::Round(..) | Sent::Started(_) => None,
            })
            .collect()
    }

    #[test]
    fn the_app_phase_forwards_to_the_group_and_ends_with_the_main_child() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGUSR1);
        k.procs[0].ends_on = Some((libc::SIGUSR1, MS));
        k.procs[0].exit_status = exited(3);
        let ended = run(&mut k, &[], Place::Pid1);
        assert_eq!(ended.status, 3);
        assert_eq!(ended.asked_to_end, Spare::Nobody);
        assert_eq!(kills(&k), [(-APP, libc::SIGUSR1)]);
    }

    #[test]
    fn single_child_forwards_to_the_main_child_alone() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGTERM);
        k.procs[0].ends_on = Some((libc::SIGTERM, MS));
        k.procs[0].exit_status = libc::SIGTERM;
        let ended = run(&mut k, &["--single-child"], Place::Pid1);
        assert_eq!(ended.status, 143);
        assert_eq!(kills(&k), [(APP, libc::SIGTERM)]);
        assert_eq!(
            ended.asked_to_end,
            Spare::Nobody,
            "only a group is spared: the main child is gone already"
        );
    }

    #[test]
    fn an_ending_signal_spares_the_group_and_continues_only_a_stopped_app() {
        for stopped in [false, true] {
            let mut k = fake(Place::Subreaper(5));
            k.procs[0].stat.stopped = stopped;
            k.at(MS, libc::SIGTERM);
            k.procs[0].ends_on = Some((libc::SIGCONT, MS));
            k.procs[0].exit_status = libc::SIGTERM;
            if !stopped {
                k.procs[0].ends_on = Some((libc::SIGTERM, MS));
            }
            let ended = run(&mut k, &[], Place::Subreaper(5));
            assert_eq!(ended.status, 143);
            assert_eq!(ended.asked_to_end, Spare::Group(APP));
            let mut want = vec![(-APP, libc::SIGTERM)];
            if stopped {
                want.push((-APP, libc::SIGCONT));
            }
            assert_eq!(kills(&k), want, "stopped: {stopped}");
        }
    }

    #[test]
    fn an_unreadable_app_is_taken_for_stopped() {
        let mut k = fake(Place::Pid1);
        k.no_proc = true;
        k.at(MS, libc::SIGINT);
        k.procs[0].ends_on = Some((libc::SIGINT, MS));
        k.procs[0].exit_status = libc::SIGINT;
        let ended = run(&mut k, &[], Place::Pid1);
        assert_eq!(ended.status, 130);
        assert_eq!(kills(&k), [(-APP, libc::SIGINT), (-APP, libc::SIGCONT)]);
    }

    #[test]
    fn a_stopped_member_of_the_group_is_continued_too() {
        let mut k = fake(Place::Pid1);
        k.child(11, APP).stat.stopped = true;
        k.child(12, 12).stat.stopped = true;
        k.at(MS, libc::SIGQUIT);
        k.procs[0].ends_on = Some((libc::SIGQUIT, MS));
        k.procs[0].exit_status = libc::SIGQUIT;
        let ended = run(&mut k, &[], Place::Pid1);
        assert_eq!(ended.status, 131);
        assert_eq!(kills(&k), [(-APP, libc::SIGQUIT), (-APP, libc::SIGCONT)]);
    }

    #[test]
    fn remap_exit_makes_the_main_child_status_zero() {
        for (args, want) in [(&["-e", "143"][..], 0), (&["-e", "3"][..], 143)] {
            let mut k = fake(Place::Pid1);
            k.exit(APP, libc::SIGTERM);
            assert_eq!(run(&mut k, args, Place::Pid1).status, want, "{args:?}");
        }
    }

    #[test]
    fn a_rewritten_signal_goes_as_rewritten_and_zero_drops_it() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGHUP);
        k.at(2 * MS, libc::SIGUSR1);
        k.at(3 * MS, libc::SIGWINCH);
        k.procs[0].ends_on = Some((libc::SIGWINCH, MS));
        let args = ["-r", "HUP:TERM", "-r", "USR1:0"];
        let ended = run(&mut k, &args, Place::Pid1);
        assert_eq!(kills(&k), [(-APP, libc::SIGTERM), (-APP, libc::SIGWINCH)]);
        assert_eq!(
            ended.asked_to_end,
            Spare::Group(APP),
            "TERM is what was sent"
        );
    }

    #[test]
    fn signals_reaper_raised_on_itself_are_not_forwarded() {
        let mut k = fake(Place::Pid1);
        let own = Received {
            signo: libc::SIGXCPU,
            sender: None,
            from_kernel: true,
        };
        k.signals.push_back((MS, own));
        k.signals.push_back((
            2 * MS,
            Received {
                signo: libc::SIGXFSZ,
                ..own
            },
        ));
        k.at(3 * MS, libc::SIGXCPU);
        k.procs[0].ends_on = Some((libc::SIGXCPU, MS));
        run(&mut k, &[], Place::Pid1);
        assert_eq!(
            kills(&k),
            [(-APP, libc::SIGXCPU)],
            "only the one sent by kill"
        );
    }

    #[test]
    fn a_flood_of_other_signals_still_reaps_the_main_child() {
        let mut k = fake(Place::Pid1);
        // The main child's exit is there to reap, but SIGCHLD never comes first.
        k.procs.clear();
        k.exited.push((APP, exited(4)));
        for i in 0..REAP_EVERY {
            k.at(MS * (i + 1), libc::SIGUSR1);
        }
        let ended = run(&mut k, &[], Place::Pid1);
        assert_eq!(ended.status, 4);
        assert_eq!(kills(&k).len(), REAP_EVERY as usize);
    }

    #[test]
    fn with_wait_all_the_loop_waits_for_every_process_and_the_last_status_counts() {
        let mut k = fake(Place::Pid1);
        k.procs[0].exit_status = exited(0);
        k.exit(APP, 0);
        k.child(20, 20).exit_status = exited(7);
        k.procs[1].ends_on = Some((libc::SIGUSR1, 5 * MS));
        k.at(MS, libc::SIGUSR1);
        let ended = run(&mut k, &["--wait-all"], Place::Pid1);
        assert_eq!(ended.status, 7, "the last process to end gives the status");
        assert_eq!(
            kills(&k),
            [(-1, libc::SIGUSR1)],
            "as PID 1, every process left is kill(-1)"
        );
        assert_eq!(ended.asked_to_end, Spare::Nobody);
    }

    #[test]
    fn with_wait_all_an_ending_signal_spares_everything_and_goes_by_round_as_subreaper() {
        let mut k = fake(Place::Subreaper(5));
        k.exit(APP, 0);
        k.child(20, 20).ends_on = Some((libc::SIGTERM, 5 * MS));
        k.procs[1].exit_status = libc::SIGTERM;
        k.at(MS, libc::SIGTERM);
        let ended = run(&mut k, &["--wait-all", "-e", "143"], Place::Subreaper(5));
        assert_eq!(ended.asked_to_end, Spare::Everything);
        assert_eq!(ended.status, 0, "143 is remapped for later exits too");
        assert_eq!(k.sent, [Sent::Round(libc::SIGTERM, None)]);
    }

    #[test]
    fn with_wait_all_a_failed_main_child_keeps_its_status_and_one_asked_to_end_ends_it() {
        // Failed: reaper still waits for the rest, but their exits do not count.
        let mut k = fake(Place::Pid1);
        k.exit(APP, exited(2));
        k.child(20, 20);
        k.dying.push((k.start + 5 * MS, 20, exited(0)));
        let ended = run(&mut k, &["--wait-all"], Place::Pid1);
        assert_eq!(ended.status, 2);
        assert!(k.procs.is_empty(), "it waited for process 20");
        // Asked to end before it exited: the end of the main child is the end.
        let mut k = fake(Place::Pid1);
        k.child(20, 20);
        k.at(MS, libc::SIGTERM);
        k.procs[0].ends_on = Some((libc::SIGTERM, MS));
        let ended = run(&mut k, &["--wait-all"], Place::Pid1);
        assert_eq!(ended.status, 0);
        assert_eq!(ended.asked_to_end, Spare::Group(APP));
        assert_eq!(k.procs.len(), 1, "process 20 is left for the teardown");
    }

    #[test]
    fn on_oom_exit_ends_with_137_when_the_killer_kills_a_worker() {
        for place in [Place::Pid1, Place::Subreaper(5)] {
            let mut k = fake(place);
            k.child(20, 20);
            k.oom_killed.push(20);
            k.dying.push((k.start + MS, 20, libc::SIGKILL));
            let ended = run(&mut k, &["--on-oom", "exit", "-e", "137"], place);
            assert_eq!(
                ended.status, 137,
                "{place:?}: not remapped: reaper's verdict"
            );
            assert_eq!(ended.why, Why::OomKill(Victim::named(20, "app")));
            assert_eq!(
                ended.asked_to_end,
                Spare::Nobody,
                "the teardown asks the app to end"
            );
            assert_eq!(k.procs.len(), 1, "the app is left for the teardown");
            assert!(k.sent.is_empty(), "{:?}", k.sent);
        }
    }

    #[test]
    fn on_oom_exit_ends_pause_too() {
        let mut k = Fake::new(Scope::of(Place::Pid1, None));
        k.child(20, 20);
        k.oom_killed.push(20);
        k.dying.push((k.start + MS, 20, libc::SIGKILL));
        let ended = supervise(
            &mut k,
            &config(&["--on-oom", "exit"]),
            Place::Pid1,
            None,
            None,
        );
        assert_eq!(ended.status, 137);
        assert_eq!(ended.why, Why::OomKill(Victim::named(20, "app")));
    }

    #[test]
    fn without_on_oom_exit_a_worker_killed_by_the_killer_changes_nothing() {
        // And a SIGKILL that was not the killer's never ends the container.
        for (args, oom) in [(&[][..], true), (&["--on-oom", "exit"][..], false)] {
            let mut k = fake(Place::Pid1);
            k.child(20, 20);
            if oom {
                k.oom_killed.push(20);
            }
            k.dying.push((k.start + MS, 20, libc::SIGKILL));
            k.dying.push((k.start + 5 * MS, APP, exited(3)));
            let ended = run(&mut k, args, Place::Pid1);
            assert_eq!(ended.status, 3, "{args:?}");
            assert_eq!(
                ended.why,
                Why::Ended {
                    status: exited(3),
                    oom: false
                }
            );
        }
    }

    #[test]
    fn the_app_killed_by_the_killer_exits_137_and_says_so() {
        for args in [&[][..], &["--on-oom", "exit"][..]] {
            let mut k = fake(Place::Pid1);
            k.oom_killed.push(APP);
            k.exit(APP, libc::SIGKILL);
            let ended = run(&mut k, args, Place::Pid1);
            assert_eq!(ended.status, 137, "{args:?}");
            assert_eq!(
                ended.why,
                Why::Ended {
                    status: libc::SIGKILL,
                    oom: true
                }
            );
        }
    }

    #[test]
    fn pause_ends_on_term_or_int_and_forwards_nothing() {
        for end in [libc::SIGTERM, libc::SIGINT] {
            let mut k = Fake::new(Scope::of(Place::Pid1, None));
            k.at(MS, libc::SIGUSR1);
            k.at(2 * MS, libc::SIGHUP);
            k.at(3 * MS, end);
            let ended = supervise(&mut k, &config(&[]), Place::Pid1, None, None);
            assert_eq!(ended.status, 0);
            assert_eq!(ended.asked_to_end, Spare::Nobody);
            assert!(k.sent.is_empty(), "{:?}", k.sent);
            assert!(k.signals.is_empty(), "ended at {}", signo::name(end));
        }
    }

    #[test]
    fn no_way_to_wait_ends_with_reaper_s_own_failure() {
        let mut k = fake(Place::Pid1);
        k.can_wait = false;
        let ended = run(&mut k, &["--wait-all"], Place::Pid1);
        assert_eq!(ended.status, status::FAILED);
        assert_eq!(ended.later_exits_count, None);
    }

    #[test]
    fn as_pid1_an_app_stopped_from_the_terminal_is_continued() {
        for (place, stop, continued) in [
            (Place::Pid1, libc::SIGTSTP, true),
            (Place::Pid1, libc::SIGSTOP, false),
            (Place::Subreaper(5), libc::SIGTSTP, false),
        ] {
            let mut k = fake(place);
            k.child(20, 20);
            k.exit(20, 0);
            k.stops.push_back(Some(stop));
            k.at(5 * MS, libc::SIGUSR1);
            k.procs[0].ends_on = Some((libc::SIGUSR1, MS));
            run(&mut k, &[], place);
            let want: &[_] = if continued {
                &[(-APP, libc::SIGCONT), (-APP, libc::SIGUSR1)]
            } else {
                &[(-APP, libc::SIGUSR1)]
            };
            assert_eq!(kills(&k), want, "{place:?} {}", signo::name(stop));
        }
    }

    #[test]
    fn an_ending_signal_right_after_a_stop_signal_is_followed_by_sigcont() {
        // `kill -TSTP reaper; kill -TERM reaper`: the forwarded SIGTSTP is still pending
        // in the app, which /proc shows running; it stops with SIGTERM pending, and only a
        // SIGCONT lets it end.
        for place in [Place::Subreaper(5), Place::Pid1] {
            for stop in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
                let mut k = fake(place);
                k.at(MS, stop);
                k.at(2 * MS, libc::SIGTERM);
                k.procs[0].ends_on = Some((libc::SIGCONT, MS));
                k.procs[0].exit_status = libc::SIGTERM;
                run(&mut k, &[], place);
                assert_eq!(
                    kills(&k),
                    [(-APP, stop), (-APP, libc::SIGTERM), (-APP, libc::SIGCONT)],
                    "{place:?} {}",
                    signo::name(stop)
                );
            }
        }
    }

    #[test]
    fn a_stop_signal_counts_only_until_a_sigcont_is_forwarded() {
        let mut k = fake(Place::Subreaper(5));
        k.at(MS, libc::SIGTSTP);
        k.at(2 * MS, libc::SIGCONT);
        k.at(3 * MS, libc::SIGTERM);
        k.procs[0].ends_on = Some((libc::SIGTERM, MS));
        run(&mut k, &[], Place::Subreaper(5));
        assert_eq!(
            kills(&k),
            [
                (-APP, libc::SIGTSTP),
                (-APP, libc::SIGCONT),
                (-APP, libc::SIGTERM)
            ],
            "a running app gets only what was sent"
        );
    }

    #[test]
    fn as_pid1_with_wait_all_the_rest_stopped_from_the_terminal_is_continued() {
        let mut k = fake(Place::Pid1);
        k.exit(APP, 0);
        k.child(20, 20).ends_on = Some((libc::SIGUSR1, MS));
        k.at(MS, libc::SIGTSTP);
        k.at(2 * MS, libc::SIGUSR1);
        run(&mut k, &["--wait-all"], Place::Pid1);
        assert_eq!(
            kills(&k),
            [
                (-1, libc::SIGTSTP),
                (-1, libc::SIGCONT),
                (-1, libc::SIGUSR1)
            ]
        );
        // As a subreaper with no terminal, whoever sent the stop signal continues them.
        let mut k = fake(Place::Subreaper(5));
        k.exit(APP, 0);
        k.child(20, 20).ends_on = Some((libc::SIGUSR1, MS));
        k.at(MS, libc::SIGTSTP);
        k.at(2 * MS, libc::SIGUSR1);
        run(&mut k, &["--wait-all"], Place::Subreaper(5));
        assert_eq!(
            k.sent,
            [
                Sent::Round(libc::SIGTSTP, None),
                Sent::Round(libc::SIGUSR1, None)
            ]
        );
    }

    #[test]
    fn with_wait_all_the_last_exit_counts_once_the_main_child_ended_well() {
        let exited = |code: i32| code << 8;
        let mut ended = Ended {
            status: 0,
            asked_to_end: Spare::Nobody,
            later_exits_count: None,
            why: Why::Nothing,
        };
        let exit = |status| Exit {
            pid: 20,
            status,
            oom: None,
        };
        ended.note_exit(exit(exited(7)));
        assert_eq!(
            ended.status, 0,
            "without --wait-all, only the main child counts"
        );
        let mut remap = ExitCodeSet::default();
        remap.insert(143);
        ended.later_exits_count = Some(remap);
        ended.note_exit(exit(exited(7)));
        assert_eq!(ended.status, 7);
        ended.note_exit(exit(libc::SIGKILL));
        assert_eq!(ended.status, 137);
        ended.note_exit(exit(libc::SIGTERM));
        assert_eq!(ended.status, 0, "143 is remapped");
    }

    const SEC: Duration = Duration::from_secs(1);

    #[test]
    fn without_a_stop_delay_or_a_restart_the_loop_never_waits_with_a_timeout() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGUSR1);
        k.at(2 * MS, libc::SIGTERM);
        k.procs[0].ends_on = Some((libc::SIGTERM, MS));
        run(&mut k, &["--restart-signal", "HUP"], Place::Pid1);
        assert!(k.timeouts.iter().all(Option::is_none), "{:?}", k.timeouts);
    }

    #[test]
    fn a_stop_delay_holds_the_first_ending_signal_and_forwards_the_rest_at_once() {
        for place in [Place::Pid1, Place::Subreaper(5)] {
            let mut k = fake(place);
            k.at(MS, libc::SIGTERM);
            k.at(5 * MS, libc::SIGUSR1);
            k.procs[0].ends_on = Some((libc::SIGTERM, MS));
            k.procs[0].exit_status = libc::SIGTERM;
            let ended = run(&mut k, &["--stop-delay", "2s"], place);
            assert_eq!(
                kills(&k),
                [(-APP, libc::SIGUSR1), (-APP, libc::SIGTERM)],
                "{place:?}"
            );
            assert_eq!(k.elapsed(), MS + 2 * SEC + MS, "held 2 s, then 1 ms to end");
            assert_eq!(ended.status, 143);
            assert_eq!(ended.asked_to_end, Spare::Group(APP));
            // Idle before and after the delay; a timeout only while it ran.
            assert_eq!(k.timeouts.first(), Some(&None));
            assert!(k.timeouts.contains(&Some(2 * SEC)), "{:?}", k.timeouts);
        }
    }

    #[test]
    fn a_second_ending_signal_during_the_stop_delay_goes_at_once_in_its_place() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGTERM);
        k.at(100 * MS, libc::SIGINT);
        k.procs[0].ends_on = Some((libc::SIGINT, MS));
        k.procs[0].exit_status = libc::SIGINT;
        let ended = run(&mut k, &["--stop-delay", "30s"], Place::Pid1);
        assert_eq!(kills(&k), [(-APP, libc::SIGINT)]);
        assert_eq!(k.elapsed(), 101 * MS);
        assert_eq!(ended.status, 130);
    }

    #[test]
    fn only_the_first_ending_signal_is_held() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGTERM);
        k.at(3 * SEC, libc::SIGQUIT);
        k.procs[0].ends_on = Some((libc::SIGQUIT, MS));
        run(&mut k, &["--stop-delay", "1s"], Place::Pid1);
        assert_eq!(kills(&k), [(-APP, libc::SIGTERM), (-APP, libc::SIGQUIT)]);
        assert_eq!(k.elapsed(), 3 * SEC + MS, "the second is not delayed");
    }

    #[test]
    fn the_stop_delay_holds_what_rewriting_makes_an_ending_signal() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGTERM); // dropped: not held, nor the delay used up
        k.at(2 * MS, libc::SIGHUP);
        k.procs[0].ends_on = Some((libc::SIGQUIT, MS));
        let args = ["--stop-delay", "1s", "-r", "TERM:0", "-r", "HUP:QUIT"];
        run(&mut k, &args, Place::Pid1);
        assert_eq!(kills(&k), [(-APP, libc::SIGQUIT)]);
        assert_eq!(k.elapsed(), 2 * MS + SEC + MS);
    }

    #[test]
    fn a_stopped_app_is_continued_after_the_stop_delay() {
        let mut k = fake(Place::Subreaper(5));
        k.procs[0].stat.stopped = true;
        k.at(MS, libc::SIGTERM);
        k.procs[0].ends_on = Some((libc::SIGCONT, MS));
        k.procs[0].exit_status = libc::SIGTERM;
        run(&mut k, &["--stop-delay", "1s"], Place::Subreaper(5));
        assert_eq!(kills(&k), [(-APP, libc::SIGTERM), (-APP, libc::SIGCONT)]);
        assert_eq!(k.elapsed(), MS + SEC + MS);
    }

    #[test]
    fn an_app_that_exits_during_the_stop_delay_ends_it() {
        let mut k = fake(Place::Pid1);
        k.at(MS, libc::SIGTERM);
        k.dying.push((k.start + 10 * MS, APP, exited(0)));
        let ended = run(&mut k, &["--stop-delay", "1s"], Place::Pid1);
        assert!(kills(&k).is_empty(), "{:?}", k.sent);
        assert_eq!(k.elapsed(), 10 * MS);
        assert_eq!(ended.status, 0);
        assert_eq!(
            ended.asked_to_end,
            Spare::Nobody,
            "the teardown asks the rest"
        );
    }

    #[test]
    fn with_wait_all_the_held_signal_goes_to_every_process_left() {
        for place in [Place::Pid1, Place::Subreaper(5)] {
            let mut k = fake(place);
            k.at(MS, libc::SIGTERM);
            k.dying.push((k.start + 10 * MS, APP, exited(0)));
            k.child(20, 20).ends_on = Some((libc::SIGTERM, MS));
            k.procs[1].exit_status = exited(5);
            let ended = run(&mut k, &["--wait-all", "--stop-delay", "1s"], place);
            let want = match place {
                Place::Pid1 => Sent::Kill(-1, libc::SIGTERM),
                Place::Subreaper(_) => Sent::Round(libc::SIGTERM, None),
            };
            assert_eq!(k.sent, [want], "{place:?}");
            assert_eq!(k.elapsed(), MS + SEC + MS);
            assert_eq!(ended.status, 5);
            assert_eq!(ended.asked_to_end, Spare::Everything);
        }
    }

    /// A fake whose app ends on SIGTERM after `MS` (143), with a second run, pid 30, that
    /// exits 4 at 10 s.
    fn restartable(place: Place) -> Fake {
        let mut k = fake(place);
        k.procs[0].ends_on = Some((libc::SIGTERM, MS));
        k.procs[0].exit_status = libc::SIGTERM;
        k.runs.push_back(30);
        k.dying.push((k.start + 10 * SEC, 30, exited(4)));
        k
    }

    #[test]
    fn the_restart_signal_ends_the_app_s_group_and_starts_the_command_again() {
        for place in [Place::Pid1, Place::Subreaper(5)] {
            let mut k = restartable(place);
            k.at(MS, libc::SIGHUP);
            let ended = run(&mut k, &["--restart-signal", "HUP"], place);
            assert_eq!(
                k.sent,
                [
                    Sent::Kill(-APP, libc::SIGTERM),
                    Sent::Kill(-APP, libc::SIGCONT),
                    Sent::Started(30),
                ],
                "{place:?}"
            );
            assert_eq!(ended.status, 4, "the last run's status");
            assert_eq!(k.starts, [2 * MS], "as soon as the old run is gone");
            assert_eq!(k.elapsed(), 10 * SEC);
        }
    }

    #[test]
    fn a_restart_kills_what_outlives_the_grace_period_and_signals_go_to_the_new_run() {
        let mut k = restartable(Place::Pid1);
        k.child(11, APP); // ignores SIGTERM
        k.at(MS, libc::SIGUSR2);
        k.at(5 * SEC, libc::SIGUSR1);
        k.procs[0].ends_on = None; // nor does the main child
        let ended = run(
            &mut k,
            &["--restart-signal", "USR2", "-t", "2s"],
            Place::Pid1,
        );
        assert_eq!(
            k.sent,
            [
                Sent::Kill(-APP, libc::SIGTERM),
                Sent::Kill(-APP, libc::SIGCONT),
                Sent::Kill(-APP, libc::SIGKILL),
                Sent::Started(30),
                Sent::Kill(-30, libc::SIGUSR1),
            ]
        );
        assert_eq!(ended.status, 4);
    }

    #[test]
    fn a_zero_grace_period_restarts_with_sigkill_at_once_and_single_child_keeps_its_target() {
        let mut k = restartable(Place::Subreaper(5));
        k.at(MS, libc::SIGHUP);
        k.at(2 * SEC, libc::SIGUSR1);
        let args = ["--restart-signal", "HUP", "-t", "0", "-c"];
        run(&mut k, &args, Place::Subreaper(5));
        assert_eq!(
            k.sent,
            [
                Sent::Kill(APP, libc::SIGKILL),
                Sent::Started(30),
                Sent::Kill(30, libc::SIGUSR1),
            ]
        );
    }

    #[test]
    fn the_restart_signal_during_a_restart_is_ignored() {
        let mut k = restartable(Place::Pid1);
        k.runs.push_back(31);
        k.procs[0].ends_on = Some((libc::SIGTERM, 100 * MS));
        k.at(MS, libc::SIGHUP);
        k.at(2 * MS, libc::SIGHUP);
        run(&mut k, &["--restart-signal", "HUP"], Place::Pid1);
        let started: Vec<_> = k
            .sent
            .iter()
            .filter(|s| matches!(s, Sent::Started(_)))
            .collect();
        assert_eq!(started, [&Sent::Started(30)]);
    }

    #[test]
    fn an_ending_signal_during_a_restart_ends_with_the_old_run_s_status() {
        let mut k = restartable(Place::Subreaper(5));
        k.procs[0].ends_on = Some((libc::SIGTERM, 100 * MS));
        k.at(MS, libc::SIGHUP);
        k.at(2 * MS, libc::SIGTERM);
        let ended = run(&mut k, &["--restart-signal", "HUP"], Place::Subreaper(5));
        assert_eq!(
            k.sent,
            [
                Sent::Kill(-APP, libc::SIGTERM),
                Sent::Kill(-APP, libc::SIGCONT),
            ],
            "no second SIGTERM, no new run"
        );
        assert_eq!(ended.status, 143);
        assert_eq!(
            ended.why,
            Why::Ended {
                status: libc::SIGTERM,
                oom: false
            },
            "the termination log says why, as for any end"
        );
        assert_eq!(ended.asked_to_end, Spare::Group(APP));
        assert_eq!(k.elapsed(), 101 * MS);
    }

    #[test]
    fn the_restart_signal_is_ignored_once_the_app_was_asked_to_end() {
        // Forwarded, or held by --stop-delay: the container is ending either way.
        for delay in ["0", "1s"] {
            let mut k = restartable(Place::Pid1);
            k.procs[0].ends_on = Some((libc::SIGTERM, 5 * SEC));
            k.at(MS, libc::SIGTERM);
            k.at(2 * MS, libc::SIGHUP);
            let args = ["--restart-signal", "HUP", "--stop-delay", delay];
            let ended = run(&mut k, &args, Place::Pid1);
            assert_eq!(kills(&k), [(-APP, libc::SIGTERM)], "delay {delay}");
            assert_eq!(ended.status, 143, "the one run's status");
            assert!(!k.sent.contains(&Sent::Started(30)), "delay {delay}");
        }
    }

    #[test]
    fn a_group_member_sigkill_cannot_end_holds_the_restart_only_kill_wait() {
        let mut k = restartable(Place::Pid1);
        k.child(11, APP).unkillable = true;
        k.at(MS, libc::SIGHUP);
        run(
            &mut k,
            &["--restart-signal", "HUP", "-t", "1s"],
            Place::Pid1,
        );
        assert!(k.sent.contains(&Sent::Started(30)), "{:?}", k.sent);
        assert_eq!(k.elapsed(), 10 * SEC, "ended with the new run");
    }

    #[test]
    fn an_app_that_exited_before_the_restart_signal_is_not_restarted() {
        let mut k = restartable(Place::Pid1);
        // Exited at 1 ms; the restart signal comes at 2 ms, before its SIGCHLD is taken.
        k.procs.retain(|p| p.stat.pid != APP);
        k.exited.push((APP, exited(9)));
        k.at(MS, libc::SIGHUP);
        let ended = run(&mut k, &["--restart-signal", "HUP"], Place::Pid1);
        assert_eq!(ended.status, 9);
        assert!(k.sent.is_empty(), "{:?}", k.sent);
    }

    #[test]
    fn a_main_child_sigkill_cannot_end_is_waited_for_before_the_new_run() {
        let mut k = restartable(Place::Subreaper(5));
        k.procs[0].ends_on = None;
        k.procs[0].unkillable = true;
        let minute = 60 * SEC;
        k.dying.push((k.start + minute, APP, libc::SIGKILL));
        // The new run exits 10 s after it starts, which is at a minute, not before.
        k.dying.retain(|d| d.1 != 30);
        k.dying.push((k.start + minute + 10 * SEC, 30, exited(4)));
        k.at(MS, libc::SIGHUP);
        let ended = run(
            &mut k,
            &["--restart-signal", "HUP", "-t", "1s"],
            Place::Subreaper(5),
        );
        assert!(k.sent.contains(&Sent::Kill(-APP, libc::SIGKILL)));
        assert_eq!(k.sent.last(), Some(&Sent::Started(30)));
        assert_eq!(k.starts, [minute], "never two main children at once");
        assert_eq!(ended.status, 4);
        // After SIGKILL and its wait: no timeout, as when idle.
        assert_eq!(k.timeouts.last(), Some(&None));
    }

    #[test]
    fn a_restart_that_cannot_start_the_command_ends_with_reaper_s_failure() {
        let mut k = restartable(Place::Pid1);
        k.runs.clear();
        k.at(MS, libc::SIGHUP);
        let ended = run(&mut k, &["--restart-signal", "HUP"], Place::Pid1);
        assert_eq!(ended.status, status::FAILED);
    }

    #[test]
    fn with_wait_all_the_restart_signal_after_the_main_child_is_neither_acted_on_nor_forwarded() {
        let mut k = fake(Place::Pid1);
        k.exit(APP, 0);
        k.child(20, 20).ends_on = Some((libc::SIGUSR1, MS));
        k.at(MS, libc::SIGHUP);
        k.at(2 * MS, libc::SIGUSR1);
        run(
            &mut k,
            &["--wait-all", "--restart-signal", "HUP"],
            Place::Pid1,
        );
        assert_eq!(k.sent, [Sent::Kill(-1, libc::SIGUSR1)]);
    }

    #[test]
    fn ancestry() {
        let stat = |pid, stopped, ppid, pgid| Proc {
            pid,
            ppid,
            pgid,
            zombie: false,
            stopped,
            start: 0,
        };
        let all = [
            stat(10, false, 1, 1),
            stat(20, false, 10, 20),
            stat(21, true, 20, 20),
            stat(30, true, 1, 30),
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
