//! What the supervisor and the teardown ask of the kernel, behind one small trait, so that
//! both are unit-tested without processes (`fake::Fake`, under `cfg(test)`): wait for a signal,
//! reap, ask whether the app stopped, send a signal, read a process's state, list the
//! processes in scope, signal them all in one round, and start the command again
//! (`--restart-signal`).
//!
//! `Os` is the one real implementation, made once in `run()` for the scope reaper stands
//! in. The callers are generic over the trait, not `dyn`: static dispatch, so the seam
//! costs the binary nothing. This module makes no system call of its own but `getpgid` for
//! a process `/proc` hides: each method is the existing function of `signals`, `reap`,
//! `procs` or `scope`.

use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::oom::Counter;
use crate::procs::{self, Proc, Walk};
use crate::reap::{self, Children, Exit};
use crate::shutdown::scope::{self, Notes, Reached, Scope};
use crate::signals::{self, Received};
use crate::signo::SigSet;

pub trait Kernel {
    /// Sleeps until one of the signals reaper handles is pending and takes it, or until
    /// `timeout` passes (`None`: no timeout). `None` too when no way to wait works.
    fn wait(&mut self, timeout: Option<Duration>) -> Option<Received>;
    /// Whether reaper can still wait for signals (see `signals::can_wait`).
    fn can_wait(&self) -> bool;
    fn now(&self) -> Instant;
    /// Reaps every child that has exited (`reap::drain`), telling which ones the
    /// out-of-memory killer killed.
    fn reap(&mut self, on_exit: impl FnMut(Exit)) -> Children;
    /// The stop signal of child `pid`, if it stopped since last asked (`reap::stopped`).
    fn stopped(&mut self, pid: libc::pid_t) -> Option<i32>;
    /// `kill(target, sig)`.
    fn send(&mut self, target: libc::pid_t, sig: i32) -> Result<(), Errno>;
    /// One process as `/proc/PID/stat` shows it; `None` when it cannot be read.
    fn process(&mut self, pid: libc::pid_t) -> Option<Proc>;
    /// Every process `/proc` shows, if it is the `/proc` of reaper's own namespace. One it
    /// lists but cannot read (`hidepid=1`), or a child of reaper's it hides (`hidepid=2`),
    /// is there too with the group the kernel gives, as stopped: `/proc` cannot tell, and
    /// a needless SIGCONT is better than a stopped process that cannot end.
    fn processes(&mut self) -> Option<Vec<Proc>>;
    /// The processes that are reaper's to end.
    fn scope(&self) -> Scope;
    /// One round: `sigs`, in turn, to every process in scope but group `spare`.
    fn signal_scope(
        &mut self,
        sigs: &[i32],
        spare: Option<libc::pid_t>,
        notes: &mut Notes,
    ) -> Reached;
    /// As PID 1: whether the namespace holds a process outside reaper's own tree that
    /// reaper may signal (`scope::others_in_namespace`).
    fn others_in_namespace(&mut self) -> bool;
    /// Starts the command again, as it was first started (`--restart-signal`); its pid,
    /// or `None` when it could not be started (logged).
    fn start_again(&mut self) -> Option<libc::pid_t>;
}

/// The kernel itself, for reaper standing in `scope`, with its cgroup's out-of-memory
/// kill count when it can read it; `again` starts the command again (`--restart-signal`).
pub struct Os<'a> {
    pub scope: Scope,
    pub oom: Option<Counter>,
    pub again: &'a mut dyn FnMut() -> Option<libc::pid_t>,
}

impl Kernel for Os<'_> {
    fn wait(&mut self, timeout: Option<Duration>) -> Option<Received> {
        signals::wait(SigSet::handled(), timeout)
    }

    fn can_wait(&self) -> bool {
        signals::can_wait()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn reap(&mut self, on_exit: impl FnMut(Exit)) -> Children {
        reap::drain(self.oom.as_mut(), on_exit)
    }

    fn stopped(&mut self, pid: libc::pid_t) -> Option<i32> {
        reap::stopped(pid)
    }

    fn send(&mut self, target: libc::pid_t, sig: i32) -> Result<(), Errno> {
        signals::send(target, sig)
    }

    fn process(&mut self, pid: libc::pid_t) -> Option<Proc> {
        procs::read_stat(pid)
    }

    fn processes(&mut self) -> Option<Vec<Proc>> {
        let own_pid = match self.scope {
            Scope::Namespace => 1,
            Scope::Descendants { own_pid, .. } => own_pid,
        };
        let view = Walk::new(own_pid).survey().ok()?;
        // A hidden child's parent is reaper: known without reading it. An unread process's
        // is not (0).
        let hidden = view.unseen_children().into_iter().map(|pid| (pid, own_pid));
        let unread = view.unread.iter().map(|&pid| (pid, 0));
        let mut procs = view.procs;
        for (pid, ppid) in unread.chain(hidden) {
            // ESRCH: gone since it was listed.
            let Ok(pgid) = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid))) else {
                continue;
            };
            if procs.iter().all(|p| p.pid != pid) {
                procs.push(Proc {
                    pid,
                    ppid,
                    pgid: pgid.as_raw(),
                    zombie: false,
                    stopped: true,
                    start: 0,
                });
            }
        }
        Some(procs)
    }

    fn scope(&self) -> Scope {
        self.scope
    }

    fn signal_scope(
        &mut self,
        sigs: &[i32],
        spare: Option<libc::pid_t>,
        notes: &mut Notes,
    ) -> Reached {
        self.scope.signal(sigs, spare, notes)
    }

    fn others_in_namespace(&mut self) -> bool {
        scope::others_in_namespace()
    }

    fn start_again(&mut self) -> Option<libc::pid_t> {
        let child = (self.again)()?;
        // What the teardown reaches when /proc cannot tell it more: the new run's group.
        if let Scope::Descendants { own_pid, .. } = self.scope {
            self.scope = Scope::Descendants {
                own_pid,
                app_group: Some(child),
            };
        }
        Some(child)
    }
}

/// A kernel in memory: a script of signals, exits and stops, a clock that moves only when
/// a wait times out or an event is due, and a record of everything sent.
#[cfg(test)]
pub mod fake {
    use super::*;
    use crate::oom::Victim;
    use std::collections::VecDeque;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Sent {
        /// `kill(target, sig)`.
        Kill(libc::pid_t, i32),
        /// A round to the scope, sparing a group.
        Round(i32, Option<libc::pid_t>),
        /// The command started again, as this pid.
        Started(libc::pid_t),
    }

    /// A process of the fake: a child of reaper's (reaped when it exits) or another
    /// process of the namespace (PID 1 only; it just disappears).
    #[derive(Debug, Clone, Copy)]
    pub struct Process {
        pub stat: Proc,
        pub child: bool,
        /// The signal that ends it (after `delay`), if any: others leave it running.
        pub ends_on: Option<(i32, Duration)>,
        pub exit_status: i32,
        /// SIGKILL does not end it (uninterruptible sleep).
        pub unkillable: bool,
    }

    pub struct Fake {
        pub scope: Scope,
        pub start: Instant,
        pub clock: Instant,
        /// Signals that arrive, each at its offset from the start.
        pub signals: VecDeque<(Duration, Received)>,
        pub procs: Vec<Process>,
        /// Exited, waiting to be reaped: pid and wait status.
        pub exited: Vec<(libc::pid_t, i32)>,
        /// Processes due to exit: when, which, with what status.
        pub dying: Vec<(Instant, libc::pid_t, i32)>,
        pub stops: VecDeque<Option<i32>>,
        pub sent: Vec<Sent>,
        pub can_wait: bool,
        /// `/proc` cannot be read.
        pub no_proc: bool,
        /// These die of the out-of-memory killer when they die of SIGKILL.
        pub oom_killed: Vec<libc::pid_t>,
        /// The pids of the runs `start_again` starts, in turn (none left: it fails).
        pub runs: VecDeque<libc::pid_t>,
        /// The timeout of every wait, in turn.
        pub timeouts: Vec<Option<Duration>>,
        /// When each run `start_again` started, from the start.
        pub starts: Vec<Duration>,
    }

    pub fn signal(signo: i32) -> Received {
        Received {
            signo,
            sender: None,
            from_kernel: false,
        }
    }

    impl Fake {
        pub fn new(scope: Scope) -> Fake {
            let start = Instant::now();
            Fake {
                scope,
                start,
                clock: start,
                signals: VecDeque::new(),
                procs: Vec::new(),
                exited: Vec::new(),
                dying: Vec::new(),
                stops: VecDeque::new(),
                sent: Vec::new(),
                can_wait: true,
                no_proc: false,
                oom_killed: Vec::new(),
                runs: VecDeque::new(),
                timeouts: Vec::new(),
                starts: Vec::new(),
            }
        }

        /// A child of reaper's (`ppid` 1) in group `pgid`.
        pub fn child(&mut self, pid: libc::pid_t, pgid: libc::pid_t) -> &mut Process {
            self.procs.push(Process {
                stat: Proc {
                    pid,
                    ppid: 1,
                    pgid,
                    zombie: false,
                    stopped: false,
                    start: 0,
                },
                child: true,
                ends_on: None,
                exit_status: 0,
                unkillable: false,
            });
            self.procs.last_mut().expect("just pushed")
        }

        /// `signo` arrives `after` the start.
        pub fn at(&mut self, after: Duration, signo: i32) {
            self.signals.push_back((after, signal(signo)));
        }

        /// Process `pid` exits with wait status `status`, now.
        pub fn exit(&mut self, pid: libc::pid_t, status: i32) {
            let now = self.clock;
            self.dying.push((now, pid, status));
        }

        pub fn elapsed(&self) -> Duration {
            self.clock - self.start
        }

        fn deliver(&mut self, target: libc::pid_t, sig: i32) -> Result<(), Errno> {
            let clock = self.clock;
            let hit: Vec<usize> = (0..self.procs.len())
                .filter(|&i| {
                    let p = &self.procs[i].stat;
                    target == -1 || target == p.pid || target == -p.pgid
                })
                .collect();
            if hit.is_empty() {
                return Err(Errno::ESRCH);
            }
            for i in hit {
                let p = &mut self.procs[i];
                match sig {
                    libc::SIGKILL if !p.unkillable => {
                        self.dying.push((clock, p.stat.pid, libc::SIGKILL))
                    }
                    libc::SIGCONT => p.stat.stopped = false,
                    _ => {}
                }
                if let Some((s, delay)) = p.ends_on
                    && s == sig
                {
                    self.dying.push((clock + delay, p.stat.pid, p.exit_status));
                }
            }
            Ok(())
        }

        /// Moves the dead whose time has come to `exited` (children) or out (others).
        fn settle(&mut self) -> bool {
            let now = self.clock;
            let mut any = false;
            while let Some(i) = self.dying.iter().position(|d| d.0 <= now) {
                let (_, pid, status) = self.dying.remove(i);
                if let Some(j) = self.procs.iter().position(|p| p.stat.pid == pid) {
                    let p = self.procs.remove(j);
                    self.dying.retain(|d| d.1 != pid);
                    if p.child {
                        self.exited.push((pid, status));
                        any = true;
                    }
                }
            }
            any
        }
    }

    impl Kernel for Fake {
        fn wait(&mut self, timeout: Option<Duration>) -> Option<Received> {
            self.timeouts.push(timeout);
            if !self.can_wait {
                return None;
            }
            if self.settle() {
                return Some(signal(libc::SIGCHLD));
            }
            let deadline = timeout.map(|t| self.clock + t);
            let next_signal = self.signals.front().map(|s| self.start + s.0);
            // Only a child's death wakes reaper (SIGCHLD); another's goes unnoticed.
            let is_child = |pid| self.procs.iter().any(|p| p.stat.pid == pid && p.child);
            let next_death = self
                .dying
                .iter()
                .filter(|d| is_child(d.1))
                .map(|d| d.0)
                .min();
            let next = [next_signal, next_death, deadline]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else {
                panic!("the script ran out: a wait with no timeout and nothing to come");
            };
            self.clock = self.clock.max(next);
            if next_signal == Some(next) {
                return self.signals.pop_front().map(|s| s.1);
            }
            self.settle().then(|| signal(libc::SIGCHLD))
        }

        fn can_wait(&self) -> bool {
            self.can_wait
        }

        fn now(&self) -> Instant {
            self.clock
        }

        fn reap(&mut self, mut on_exit: impl FnMut(Exit)) -> Children {
            self.settle();
            for (pid, status) in std::mem::take(&mut self.exited) {
                let oom = (status == libc::SIGKILL && self.oom_killed.contains(&pid))
                    .then(|| Victim::named(pid, "app"));
                on_exit(Exit { pid, status, oom });
            }
            if self.procs.iter().any(|p| p.child) {
                Children::Running
            } else {
                Children::None
            }
        }

        fn stopped(&mut self, _pid: libc::pid_t) -> Option<i32> {
            self.stops.pop_front().flatten()
        }

        fn send(&mut self, target: libc::pid_t, sig: i32) -> Result<(), Errno> {
            if sig != 0 {
                self.sent.push(Sent::Kill(target, sig));
            }
            self.deliver(target, sig)
        }

        fn process(&mut self, pid: libc::pid_t) -> Option<Proc> {
            if self.no_proc {
                return None;
            }
            self.procs
                .iter()
                .find(|p| p.stat.pid == pid)
                .map(|p| p.stat)
        }

        fn processes(&mut self) -> Option<Vec<Proc>> {
            (!self.no_proc).then(|| self.procs.iter().map(|p| p.stat).collect())
        }

        fn scope(&self) -> Scope {
            self.scope
        }

        fn signal_scope(
            &mut self,
            sigs: &[i32],
            spare: Option<libc::pid_t>,
            _notes: &mut Notes,
        ) -> Reached {
            let targets: Vec<libc::pid_t> = self
                .procs
                .iter()
                .filter(|p| Some(p.stat.pgid) != spare)
                .map(|p| p.stat.pid)
                .collect();
            for &sig in sigs {
                self.sent.push(Sent::Round(sig, spare));
                for &pid in &targets {
                    let _ = self.deliver(pid, sig);
                }
            }
            match targets.len() {
                0 => Reached::None,
                n => Reached::Processes { n, refused: 0 },
            }
        }

        fn others_in_namespace(&mut self) -> bool {
            self.procs.iter().any(|p| !p.child)
        }

        fn start_again(&mut self) -> Option<libc::pid_t> {
            let pid = self.runs.pop_front()?;
            self.sent.push(Sent::Started(pid));
            self.starts.push(self.elapsed());
            self.child(pid, pid);
            Some(pid)
        }
    }
}
