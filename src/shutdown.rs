//! Teardown: ending whatever is left once the main child has exited (or `--pause` ends).
//!
//! Everything left gets SIGTERM (and SIGCONT, so a stopped process can act on it), then
//! reaper keeps reaping until nothing is left or the grace period ends; whatever remains
//! then gets SIGKILL; but after `--wait-all` forwarded a signal asking everything to end,
//! reaper only waits, with no SIGKILL of its own (the runtime has its own timeout). As
//! PID 1 "everything" is the whole PID namespace, reached with `kill(-1)`. As a subreaper
//! it is only reaper's own descendants, found in `/proc`: `kill(-1)` there would reach
//! processes far outside the container.
//!
//! As PID 1, not everything in the namespace is reaper's child: in a pod's shared PID
//! namespace the other containers' processes, and anything `docker exec` starts, have a
//! parent outside it. They send reaper no SIGCHLD and `waitpid` never sees them, so
//! "nothing left" is `kill(-1, 0)` finding no one, and the wait polls for it.
//!
//! Which processes those are, and how one round reaches them, is `scope`'s; what the log
//! says of a round is what the kernel did. Whether anything is left is asked of the kernel
//! (`waitpid`, `kill(-1, 0)`), never inferred from a `kill` that succeeded. The kernel is
//! `kernel::Kernel`, so the timing of the whole teardown is unit-tested below.

pub mod scope;

use std::time::{Duration, Instant};

use crate::kernel::Kernel;
use crate::reap::{Children, Exit};
use crate::signo;
use scope::{Notes, Reached, Scope};

/// How long reaper waits for SIGKILLed processes to be reaped before it gives up on them
/// (a process in uninterruptible sleep dies only when its I/O ends).
const KILL_WAIT: Duration = Duration::from_secs(2);

/// How soon a PID 1 teardown first looks again for processes that are not its children,
/// and how long it waits at most between looks: nothing tells reaper when they exit, and
/// each look reads all of /proc, so the wait doubles from the first to the last. (With
/// 1,500 such processes, a look every 10 ms cost reaper 3.3 s of CPU in a 5 s grace period.)
const FIRST_LOOK: Duration = Duration::from_millis(10);
const LAST_LOOK: Duration = Duration::from_millis(250);

/// Who was already forwarded a signal asking it to end, and so gets no SIGTERM of the
/// teardown's: it is in its own shutdown, which a second SIGTERM would cut short (many
/// apps treat it as "quit now"). It gets the grace period, and SIGKILL after it like
/// everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spare {
    Nobody,
    /// The members of this process group (the app's).
    Group(libc::pid_t),
    /// Every process left (`--wait-all`, once the main child is gone).
    Everything,
}

/// Ends every process in the kernel's scope, reaping as it goes; `on_exit` sees each
/// reaped process. `spare` was already asked to end (see `Spare`).
pub fn teardown<K: Kernel>(
    kernel: &mut K,
    spare: Spare,
    grace: Duration,
    on_exit: impl FnMut(Exit),
) {
    Teardown {
        kernel,
        spare,
        on_exit,
        notes: Notes::default(),
    }
    .run(grace);
}

struct Teardown<'k, K, F> {
    kernel: &'k mut K,
    spare: Spare,
    on_exit: F,
    notes: Notes,
}

impl<K: Kernel, F: FnMut(Exit)> Teardown<'_, K, F> {
    fn run(&mut self, grace: Duration) {
        if self.left() == Left::Nothing {
            log::debug!("teardown: nothing left");
            return;
        }
        if self.spare == Spare::Everything {
            // `--wait-all`: a forwarded signal asked every process to end; reaper never
            // escalates it with a SIGKILL of its own, whatever `-t` says: the runtime has
            // its own timeout. As PID 1 that includes processes outside reaper's tree
            // (`docker exec`), looked for again and again, less and less often.
            log::info!(
                "teardown: everything left was already asked to end; waiting for it to exit (no SIGKILL)"
            );
            self.wait_for_none(None);
            log::info!("teardown: everything exited");
            return;
        }
        if !grace.is_zero() {
            self.ask_to_end(grace);
            if self.wait_for_none(self.kernel.now().checked_add(grace)) {
                log::info!("teardown: everything exited within the grace period");
                return;
            }
        }
        self.kill();
    }

    /// SIGTERM (and SIGCONT) to everything in scope but what `spare` spares.
    fn ask_to_end(&mut self, grace: Duration) {
        let sigs = [libc::SIGTERM, libc::SIGCONT];
        match self.spare {
            Spare::Group(g) => {
                let reached = self.kernel.signal_scope(&sigs, Some(g), &mut self.notes);
                if reached == Reached::Everything {
                    // Blind: `kill(-1)` left no group out, as the warning said.
                    log::info!("teardown: sent SIGTERM to {reached}; waiting up to {grace:?}")
                } else {
                    log::info!(
                        "teardown: sent SIGTERM to {reached} (not to process group {g}, already asked to end); waiting up to {grace:?}"
                    )
                }
            }
            Spare::Nobody => {
                let reached = self.kernel.signal_scope(&sigs, None, &mut self.notes);
                log::info!("teardown: sent SIGTERM to {reached}; waiting up to {grace:?}")
            }
            // `run` waits for it, without a SIGKILL.
            Spare::Everything => {}
        }
    }

    /// SIGKILL to everything in scope, in rounds while a walk of /proc finds more, and
    /// reaping until none is left or `KILL_WAIT` passes.
    fn kill(&mut self) {
        let deadline = self.kernel.now() + KILL_WAIT;
        let mut first = true;
        loop {
            let reached = self
                .kernel
                .signal_scope(&[libc::SIGKILL], None, &mut self.notes);
            // The rounds after the first find what forked in between: one line says it.
            if std::mem::take(&mut first) {
                log::info!("teardown: sent SIGKILL to {reached}");
            } else {
                log::trace!("teardown: sent SIGKILL to {reached}");
            }
            // Under `kill(-1)` one round reaches all: the kernel lets no process fork once
            // it has a SIGKILL pending. In /proc, a child forked just before its parent was
            // killed may be missed by one walk and found by the next.
            let again = matches!(self.kernel.scope(), Scope::Descendants { .. })
                && (reached.any() || std::mem::take(&mut self.notes.missed_group));
            let until = if again {
                self.kernel.now() + Duration::from_millis(20)
            } else {
                deadline
            };
            if self.wait_for_none(Some(until.min(deadline))) {
                return;
            }
            if !again || self.kernel.now() >= deadline {
                break;
            }
        }
        log::warn!("teardown: processes still left {KILL_WAIT:?} after SIGKILL; exiting anyway");
    }

    /// Reaps what exited, and says what is still there.
    fn left(&mut self) -> Left {
        let children = self.kernel.reap(&mut self.on_exit);
        let descendants = if children == Children::Running {
            Left::Descendants
        } else {
            // Everything below reaper is reparented to it as its parents exit: no child,
            // no descendant.
            Left::Nothing
        };
        match self.kernel.scope() {
            // ESRCH: no other process in the namespace at all, the usual end of a
            // container, known with one syscall and no /proc walk.
            Scope::Namespace if self.kernel.send(-1, 0).is_err() => Left::Nothing,
            Scope::Namespace if self.kernel.others_in_namespace() => Left::Others,
            _ => descendants,
        }
    }

    /// Reaps until nothing is left (`true`) or `deadline` passes (`false`). No deadline
    /// means the grace period is too long to be represented: wait as long as it takes.
    fn wait_for_none(&mut self, deadline: Option<Instant>) -> bool {
        let mut look_again = FIRST_LOOK;
        loop {
            let left = self.left();
            if left == Left::Nothing {
                return true;
            }
            let mut remaining = match deadline {
                Some(d) => match d.checked_duration_since(self.kernel.now()) {
                    Some(r) if !r.is_zero() => Some(r),
                    _ => return false,
                },
                None => None,
            };
            if left == Left::Others {
                remaining = Some(remaining.map_or(look_again, |r| r.min(look_again)));
                look_again = (look_again * 2).min(LAST_LOOK);
            }
            // Only SIGCHLD matters now; anything else has no one to go to. Not a word about
            // a SIGPIPE of reaper's own logging: the line would raise the next one.
            if let Some(sig) = self.kernel.wait(remaining)
                && sig.signo != libc::SIGCHLD
                && !sig.is_self_inflicted()
            {
                log::debug!("teardown: ignoring {}", signo::name(sig.signo));
            }
        }
    }
}

/// What is left of the scope besides reaper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    Nothing,
    /// Only reaper's own descendants: each exit wakes reaper, with a SIGCHLD.
    Descendants,
    /// As PID 1, processes outside reaper's own tree: nothing tells reaper when they exit,
    /// so it looks again, less and less often (`FIRST_LOOK` to `LAST_LOOK`).
    Others,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::fake::{Fake, Sent};
    use crate::setup::Place;

    const MS: Duration = Duration::from_millis(1);
    const GRACE: Duration = Duration::from_secs(5);
    const TERM: [Sent; 2] = [
        Sent::Round(libc::SIGTERM, None),
        Sent::Round(libc::SIGCONT, None),
    ];
    const KILL: Sent = Sent::Round(libc::SIGKILL, None);

    /// Runs a teardown; returns what it reaped.
    fn run(k: &mut Fake, spare: Spare, grace: Duration) -> Vec<(libc::pid_t, i32)> {
        let mut reaped = Vec::new();
        teardown(k, spare, grace, |e| reaped.push((e.pid, e.status)));
        reaped
    }

    fn pid1() -> Fake {
        Fake::new(Scope::of(Place::Pid1, Some(10)))
    }

    fn subreaper() -> Fake {
        Fake::new(Scope::of(Place::Subreaper(5), Some(10)))
    }

    #[test]
    fn nothing_left_is_nothing_to_do() {
        for mut k in [pid1(), subreaper()] {
            assert!(run(&mut k, Spare::Nobody, GRACE).is_empty());
            assert!(k.sent.is_empty());
            assert_eq!(k.elapsed(), Duration::ZERO);
        }
    }

    #[test]
    fn a_process_that_handles_sigterm_ends_within_the_grace_period() {
        for mut k in [pid1(), subreaper()] {
            k.child(20, 20).ends_on = Some((libc::SIGTERM, 300 * MS));
            k.procs[0].exit_status = 3 << 8;
            let reaped = run(&mut k, Spare::Nobody, GRACE);
            assert_eq!(reaped, [(20, 3 << 8)]);
            assert_eq!(k.sent, TERM, "no SIGKILL");
            assert_eq!(k.elapsed(), 300 * MS, "reaped as soon as it exited");
        }
    }

    #[test]
    fn one_that_ignores_it_is_killed_when_the_grace_period_ends() {
        for mut k in [pid1(), subreaper()] {
            k.child(20, 20);
            let reaped = run(&mut k, Spare::Nobody, GRACE);
            assert_eq!(reaped, [(20, libc::SIGKILL)]);
            assert_eq!(k.sent, [TERM[0], TERM[1], KILL]);
            assert_eq!(k.elapsed(), GRACE);
        }
    }

    #[test]
    fn a_zero_grace_period_kills_at_once() {
        let mut k = pid1();
        k.child(20, 20).ends_on = Some((libc::SIGTERM, MS));
        assert_eq!(
            run(&mut k, Spare::Nobody, Duration::ZERO),
            [(20, libc::SIGKILL)]
        );
        assert_eq!(k.sent, [KILL]);
        assert_eq!(k.elapsed(), Duration::ZERO);
    }

    #[test]
    fn a_group_already_asked_to_end_gets_no_second_sigterm() {
        let mut k = subreaper();
        k.child(10, 10);
        k.child(20, 20).ends_on = Some((libc::SIGTERM, MS));
        let reaped = run(&mut k, Spare::Group(10), GRACE);
        assert_eq!(reaped, [(20, 0), (10, libc::SIGKILL)]);
        assert_eq!(
            k.sent,
            [
                Sent::Round(libc::SIGTERM, Some(10)),
                Sent::Round(libc::SIGCONT, Some(10)),
                KILL
            ],
            "the group gets the grace period, and SIGKILL after it"
        );
        assert_eq!(k.elapsed(), GRACE);
    }

    #[test]
    fn everything_already_asked_to_end_is_waited_for_and_never_killed() {
        for grace in [GRACE, Duration::ZERO] {
            let mut k = pid1();
            let minute = Duration::from_secs(60);
            k.child(20, 20);
            k.dying.push((k.start + minute, 20, 0));
            k.dying.push((k.start + 2 * MS, 22, 0));
            k.child(22, 22);
            let reaped = run(&mut k, Spare::Everything, grace);
            assert_eq!(reaped, [(22, 0), (20, 0)]);
            assert!(k.sent.is_empty(), "no signal of reaper's own: {:?}", k.sent);
            assert_eq!(k.elapsed(), minute, "-t does not cut it short");
        }
    }

    #[test]
    fn as_pid1_everything_asked_to_end_outside_its_tree_is_looked_for_not_killed() {
        // `--wait-all`, `docker exec c long-job`, `docker stop`: the service has exited,
        // long-job (not reaper's child) is still handling the forwarded SIGTERM.
        let mut k = pid1();
        k.child(30, 30).child = false;
        let minute = Duration::from_secs(60);
        k.dying.push((k.start + minute, 30, 0));
        assert!(run(&mut k, Spare::Everything, GRACE).is_empty());
        assert!(k.sent.is_empty(), "no SIGKILL: {:?}", k.sent);
        // Gone at 60 s, seen within a look of it.
        assert!(k.elapsed() >= minute && k.elapsed() <= minute + LAST_LOOK);
    }

    #[test]
    fn a_grace_period_too_long_to_represent_waits_as_long_as_it_takes() {
        let mut k = subreaper();
        let hour = Duration::from_secs(3600);
        k.child(20, 20).ends_on = Some((libc::SIGTERM, hour));
        assert_eq!(run(&mut k, Spare::Nobody, Duration::MAX), [(20, 0)]);
        assert_eq!(k.sent, TERM);
        assert_eq!(k.elapsed(), hour);
    }

    #[test]
    fn as_pid1_others_in_the_namespace_are_looked_for_less_and_less_often() {
        let mut k = pid1();
        k.child(30, 30).child = false;
        k.procs[0].ends_on = Some((libc::SIGTERM, 100 * MS));
        assert!(run(&mut k, Spare::Nobody, GRACE).is_empty(), "not a child");
        assert_eq!(k.sent, TERM);
        // Gone at 100 ms, seen at the look after: 10, 30, 70, then 150 ms.
        assert_eq!(k.elapsed(), 150 * MS);
    }

    #[test]
    fn what_survives_sigkill_is_given_up_on_after_kill_wait() {
        for (mut k, rounds) in [(pid1(), 1..=1), (subreaper(), 2..=101)] {
            k.child(20, 20).unkillable = true;
            run(&mut k, Spare::Nobody, GRACE);
            assert_eq!(k.elapsed(), GRACE + KILL_WAIT);
            // As a subreaper, a round that reached anyone is followed by another 20 ms
            // later (a child forked in between); `kill(-1)` needs one.
            let kills = k.sent.iter().filter(|&&s| s == KILL).count();
            assert!(rounds.contains(&kills), "{kills} rounds of SIGKILL");
        }
    }
}
