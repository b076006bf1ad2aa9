//! The scope: which processes are reaper's to end, fixed once in `run()` from where reaper
//! stands, and one round of signalling them all (the teardown's rounds, and `--wait-all`'s
//! forwarding as a subreaper).
//!
//! As PID 1 the scope is the whole PID namespace, reached with `kill(-1)`. As a subreaper
//! it is only reaper's own descendants, found in `/proc` (`procs`): `kill(-1)` there would
//! reach processes far outside the container.
//!
//! What the log says is what the kernel did: a round counts the processes it reached, and
//! names those it was not permitted to signal (`kill(-1)` returns 0 when it reached none
//! of them). When /proc hides part of reaper's tree (`hidepid`, no descriptor free), the
//! round signals what the kernel still shows (reaper's own children, the sessions they
//! lead) and says at warning level that it walked blind.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::error::describe;
use crate::procs::{Proc, View, Walk, send_by_pid};
use crate::setup::Place;
use crate::signals;
use crate::signo;

/// Which processes are reaper's to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// reaper is PID 1: every process in the namespace.
    Namespace,
    /// reaper is a subreaper: its descendants only. When `/proc` cannot list them, the
    /// main child's process group, if there is one, is all reaper can still reach.
    Descendants {
        own_pid: libc::pid_t,
        app_group: Option<libc::pid_t>,
    },
}

impl Scope {
    /// The scope of reaper standing at `place`; `app_group` is the main child's group.
    pub fn of(place: Place, app_group: Option<libc::pid_t>) -> Scope {
        match place {
            Place::Pid1 => Scope::Namespace,
            Place::Subreaper(own_pid) => Scope::Descendants { own_pid, app_group },
        }
    }
}

/// What a round learnt that the next one needs, kept by whoever makes the rounds.
#[derive(Debug, Default)]
pub struct Notes {
    /// A blind walk was reported: once per teardown is enough.
    warned_blind: bool,
    /// The last round found a group it could not signal: every member it saw had gone
    /// (a fork loop's); the next round looks again.
    pub missed_group: bool,
}

impl Notes {
    fn walked_blind(&mut self, what: &str) {
        if !std::mem::replace(&mut self.warned_blind, true) {
            log::warn!("teardown: {what}");
        }
    }
}

impl Scope {
    /// One round: sends `sigs`, in turn, to every process in scope but the members of
    /// group `spare`, and says what the kernel took them for.
    pub fn signal(&self, sigs: &[i32], spare: Option<libc::pid_t>, notes: &mut Notes) -> Reached {
        match *self {
            Scope::Namespace => signal_namespace(sigs, spare, notes),
            Scope::Descendants { own_pid, app_group } => {
                signal_descendants(own_pid, app_group, sigs, spare, notes)
            }
        }
    }
}

/// `kill(-1, sig)` for each of `sigs`: everything reaper may signal in its namespace.
fn kill_everything(sigs: &[i32]) {
    for &sig in sigs {
        if let Err(e) = signals::send(-1, sig) {
            log::debug!("kill(-1, {}): {}", signo::name(sig), describe(e));
        }
    }
}

/// As PID 1: `kill(-1)`, which needs no /proc and which no fork loop outruns, counted
/// by a walk of /proc; with a group to spare, one process at a time (`kill(-1)` cannot
/// leave a group out). A fork loop may outrun that round, but not the SIGKILL round.
fn signal_namespace(sigs: &[i32], spare: Option<libc::pid_t>, notes: &mut Notes) -> Reached {
    let mut walk = Walk::new(1);
    let view = match walk.survey() {
        Ok(view) => view,
        Err(e) => {
            if spare.is_some() {
                notes.walked_blind(&format!(
                    "cannot list processes in /proc ({e}): signalling every process, the app's group included"
                ));
            } else {
                log::debug!("teardown: cannot list processes in /proc ({e})");
            }
            kill_everything(sigs);
            return Reached::Everything;
        }
    };
    let mut count = Count::default();
    let found = everyone(&view);
    let Some(g) = spare else {
        // Probed before: `kill(-1)` says nothing of those it was not permitted to
        // signal (it returns 0 when it reached anyone, or was refused by everyone).
        for (pid, _) in found {
            count.add(signals::send(pid, 0), pid, sigs[0]);
        }
        kill_everything(sigs);
        // `kill(-1)` reached what /proc hid too: only the count is short.
        return count.reached();
    };
    for (pid, p) in found {
        // The kernel gives any pid's group, with no /proc file to read.
        let pgid = match p {
            Some(p) => p.pgid,
            None => match nix::unistd::getpgid(Some(Pid::from_raw(pid))) {
                Ok(g) => g.as_raw(),
                Err(_) => continue,
            },
        };
        if pgid == g {
            continue;
        }
        let sent = match p {
            Some(p) => walk.send(&p, sigs),
            // A child of reaper's keeps its pid until reaped: exact. Anything else
            // unread goes by pid, as before pidfds.
            None => send_by_pid(pid, sigs),
        };
        count.add(sent, pid, sigs[0]);
    }
    note_by_pid(&walk);
    note_unseen(&view, false, notes);
    count.reached()
}

fn note_by_pid(walk: &Walk) {
    if walk.by_pid {
        log::debug!("teardown: no descriptor free for a pidfd: some processes signalled by pid");
    }
}

/// As a subreaper: reaper's descendants, found in /proc (with what the kernel lists of
/// reaper's own children for what /proc hides), each group made of descendants only
/// with one `kill(-pgid)`, the rest one by one.
fn signal_descendants(
    own_pid: libc::pid_t,
    app_group: Option<libc::pid_t>,
    sigs: &[i32],
    spare: Option<libc::pid_t>,
    notes: &mut Notes,
) -> Reached {
    let mut walk = Walk::new(own_pid);
    let view = match walk.survey() {
        Ok(view) => view,
        Err(e) => {
            notes.walked_blind(&format!(
                "cannot list descendants in /proc ({e}); signalling the app's process group only"
            ));
            let Some(group) = app_group.filter(|&g| Some(g) != spare) else {
                return Reached::None;
            };
            if let Err(e) = send_by_pid(-group, sigs) {
                refused_or_gone(&format!("process group {group}"), sigs[0], e);
            }
            return Reached::Group(group);
        }
    };
    let t = targets(own_pid, &view.procs, spare);
    let mut count = Count::default();
    let mut whole = signal_targets(&mut walk, &t, sigs, spare, &mut count, notes);
    // Blind to some processes: the app's group, as when /proc cannot be listed at all.
    let blind =
        !view.unread.is_empty() || view.children.is_none() || !view.unseen_children().is_empty();
    let blind_group = app_group
        .filter(|&g| blind && Some(g) != spare && !t.groups.iter().any(|(pgid, _)| *pgid == g));
    // A hidden child in a group signalled whole gets the signal with its group: not twice.
    whole.extend(blind_group);
    signal_unseen_children(&view, sigs, spare, &whole, &mut count);
    if let Some(g) = blind_group {
        let hidden = view.unseen_children();
        let in_group = view
            .unread
            .iter()
            .chain(hidden.iter().filter(|c| !view.unread.contains(c)))
            .filter(|&&pid| {
                nix::unistd::getpgid(Some(Pid::from_raw(pid))).is_ok_and(|p| p.as_raw() == g)
            })
            .count();
        match send_by_pid(-g, sigs) {
            Ok(()) => count.reached += in_group.max(1),
            Err(e) => refused_or_gone(&format!("process group {g}"), sigs[0], e),
        }
    }
    note_by_pid(&walk);
    let found_none = t.groups.is_empty() && t.pids.is_empty();
    note_unseen(&view, view.children.is_none() && found_none, notes);
    count.reached()
}

/// Signals what a walk found below reaper: each group whole, the rest one by one.
/// Returns the groups the kernel took a signal for, whole.
fn signal_targets(
    walk: &mut Walk,
    t: &Targets,
    sigs: &[i32],
    spare: Option<libc::pid_t>,
    count: &mut Count,
    notes: &mut Notes,
) -> Vec<libc::pid_t> {
    let mut whole = Vec::new();
    for (pgid, members) in &t.groups {
        match walk.send_to_group(*pgid, members, sigs) {
            // The kernel took it for someone: at least one, whatever the walk saw alive.
            Ok(true) => {
                whole.push(*pgid);
                count.reached += members.iter().filter(|m| !m.zombie).count().max(1)
            }
            // The group is empty now, though a child of reaper's was in it (ESRCH), or no
            // member is left in it as found: whoever is still there left it since the walk
            // (a daemon's `setsid`, a shell's `setpgid`), and gets the signal where it is.
            // What the group's members forked, the next round finds.
            Ok(false) | Err(Errno::ESRCH) => {
                log::debug!("teardown: no member of process group {pgid} left as found");
                notes.missed_group = true;
                for m in members.iter().filter(|m| !m.zombie) {
                    let moved_to = nix::unistd::getpgid(Some(Pid::from_raw(m.pid)));
                    if moved_to.is_ok_and(|g| Some(g.as_raw()) != spare) {
                        count.add(walk.send(m, sigs), m.pid, sigs[0]);
                    }
                }
            }
            Err(e) => {
                for m in members {
                    count.add(Err(e), m.pid, sigs[0]);
                }
            }
        }
    }
    for p in &t.pids {
        count.add(walk.send(p, sigs), p.pid, sigs[0]);
    }
    whole
}

/// Children /proc did not show: the kernel still gives their group and session. One
/// that leads its own session (a daemon's `setsid`) gets it whole: no process outside
/// reaper's tree can be in that session. A child in a group that gets the signal whole
/// (in `whole`, or led by such a session leader) gets it only that way: one signal each.
fn signal_unseen_children(
    view: &View,
    sigs: &[i32],
    spare: Option<libc::pid_t>,
    whole: &[libc::pid_t],
    count: &mut Count,
) {
    let unseen: Vec<(libc::pid_t, libc::pid_t, bool)> = view
        .unseen_children()
        .into_iter()
        .filter_map(|c| {
            let pgid = nix::unistd::getpgid(Some(Pid::from_raw(c))).ok()?.as_raw();
            let leads_session =
                nix::unistd::getsid(Some(Pid::from_raw(c))).is_ok_and(|s| s.as_raw() == c);
            Some((c, pgid, leads_session))
        })
        .collect();
    // A session leader leads its group too: its `-c` is that group, whole.
    let led: Vec<libc::pid_t> = unseen.iter().filter(|u| u.2).map(|u| u.0).collect();
    for &(c, pgid, leads_session) in &unseen {
        if Some(pgid) == spare || whole.contains(&pgid) {
            continue;
        }
        if leads_session {
            count.add(send_by_pid(-c, sigs), c, sigs[0]);
        } else if !led.contains(&pgid) {
            count.add(send_by_pid(c, sigs), c, sigs[0]);
        }
    }
}

/// Warns once when the walk could not see every process it should have.
fn note_unseen(view: &View, no_children_list: bool, notes: &mut Notes) {
    let unread = view.unread.len();
    let hidden = view
        .unseen_children()
        .iter()
        .filter(|c| !view.unread.contains(c))
        .count();
    let mut what = Vec::new();
    if unread > 0 {
        what.push(format!("{} unreadable", plural(unread, "process")));
    }
    if hidden > 0 {
        what.push(format!("{hidden} of its children not listed"));
    }
    if no_children_list {
        what.push("no list of its own children".to_string());
    }
    if !what.is_empty() {
        notes.walked_blind(&format!(
            "/proc shows reaper only part of the processes (hidepid, or no descriptor free: {}); signalling what the kernel still shows, a process below a hidden one may be missed",
            what.join(", ")
        ));
    }
}

/// Every live process a walk found but reaper itself and PID 1, with what is known of it:
/// those read, those listed but unread, and reaper's children the walk did not list.
fn everyone(view: &View) -> Vec<(libc::pid_t, Option<Proc>)> {
    let me = nix::unistd::getpid().as_raw();
    let mut all: Vec<(libc::pid_t, Option<Proc>)> = view
        .procs
        .iter()
        .filter(|p| p.pid != 1 && p.pid != me && !p.zombie)
        .map(|p| (p.pid, Some(*p)))
        .collect();
    all.extend(view.unread.iter().map(|&pid| (pid, None)));
    all.extend(
        view.unseen_children()
            .into_iter()
            .filter(|c| !view.unread.contains(c))
            .map(|c| (c, None)),
    );
    all.retain(|&(pid, _)| pid != 1 && pid != me);
    all
}

/// Whether reaper was already told, once, that it may not signal some process.
static WARNED_REFUSED: AtomicBool = AtomicBool::new(false);

/// Logs a signal that could not be sent to `whom`: the first refusal (EPERM) at warning
/// level, with what to do about it, once for reaper's life; anything else at debug level
/// (ESRCH: it exited first, which is what reaper wanted anyway).
pub fn refused_or_gone(whom: &str, sig: i32, e: Errno) {
    if e == Errno::EPERM && !WARNED_REFUSED.swap(true, Ordering::Relaxed) {
        log::warn!(
            "not permitted to send {} to {whom}: reaper needs CAP_KILL to signal processes of another user; keep CAP_KILL, or run reaper as the app's user",
            signo::name(sig)
        );
    } else {
        log::debug!(
            "failed to send {} to {whom}: {}",
            signo::name(sig),
            describe(e)
        );
    }
}

/// What a round reached, counted as the kernel answered.
#[derive(Debug, Default)]
struct Count {
    reached: usize,
    refused: usize,
}

impl Count {
    fn add(&mut self, sent: Result<(), Errno>, pid: libc::pid_t, sig: i32) {
        match sent {
            Ok(()) => self.reached += 1,
            Err(Errno::ESRCH) => {}
            Err(e) => {
                if e == Errno::EPERM {
                    self.refused += 1;
                }
                refused_or_gone(&format!("process {pid}"), sig, e);
            }
        }
    }

    fn reached(&self) -> Reached {
        match (self.reached, self.refused) {
            (0, 0) => Reached::None,
            (n, refused) => Reached::Processes { n, refused },
        }
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else if what.ends_with('s') {
        format!("{n} {what}es")
    } else {
        format!("{n} {what}s")
    }
}

/// As PID 1: whether the namespace holds a live process outside reaper's own tree that
/// reaper may signal. In a pod's shared PID namespace the other containers' processes, and
/// anything `docker exec` starts, have a parent outside the namespace: they send reaper no
/// SIGCHLD and `waitpid` never sees them. One that reaper may not signal (another user's,
/// in a container without root) does not count: nothing reaper could do would end it.
pub fn others_in_namespace() -> bool {
    match Walk::new(1).survey() {
        Ok(view) => {
            let mine = tree(1, &view.procs);
            let may_signal = |pid| signals::send(pid, 0).is_ok();
            view.procs.iter().any(|p| {
                p.pid != 1 && !p.zombie && mine.binary_search(&p.pid).is_err() && may_signal(p.pid)
            })
            // Unread, whose parent is unknown: assume the worst, and keep looking.
            || view
                .unread
                .iter()
                .any(|&pid| !view.is_child(pid) && may_signal(pid))
        }
        // Without /proc, the kernel can still say whether anything at all is there, though
        // not whose it is: assume the worst, and keep looking.
        Err(_) => signals::send(-1, 0).is_ok(),
    }
}

/// What a signalling round reached, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// `kill(-1)` with no /proc to count: every process reaper may signal.
    Everything,
    /// Processes the kernel took the signal for, and those it refused reaper.
    Processes {
        n: usize,
        refused: usize,
    },
    Group(libc::pid_t),
    None,
}

impl Reached {
    /// Whether the kernel took the signal for anyone.
    pub fn any(self) -> bool {
        match self {
            Reached::Everything | Reached::Group(_) => true,
            Reached::Processes { n, .. } => n > 0,
            Reached::None => false,
        }
    }
}

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reached::Everything => f.write_str("every process it may signal (kill(-1))"),
            Reached::Processes { n, refused: 0 } => f.write_str(&plural(*n, "process")),
            Reached::Processes { n, refused } => write!(
                f,
                "{} (and was not permitted to signal {})",
                plural(*n, "process"),
                plural(*refused, "process")
            ),
            Reached::Group(g) => write!(f, "process group {g}"),
            Reached::None => f.write_str("no process"),
        }
    }
}

/// What one teardown round signals below `root`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Targets {
    /// Process groups whose every member is a descendant. A group is signalled with one
    /// `kill(-pgid)`, which, like `kill(-1)`, the kernel lets no member escape by forking:
    /// a fork loop cannot outrun it. Each with its members as found.
    groups: Vec<(libc::pid_t, Vec<Proc>)>,
    /// Descendants in a group shared with some other process: signalled one by one.
    pids: Vec<Proc>,
}

/// Every process below `root`, sorted.
fn tree(root: libc::pid_t, procs: &[Proc]) -> Vec<libc::pid_t> {
    let mut by_parent: Vec<(libc::pid_t, libc::pid_t)> =
        procs.iter().map(|p| (p.ppid, p.pid)).collect();
    by_parent.sort_unstable();
    let mut below = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        let start = by_parent.partition_point(|&(p, _)| p < parent);
        for &(p, child) in &by_parent[start..] {
            if p != parent {
                break;
            }
            below.push(child);
            frontier.push(child);
        }
    }
    below.sort_unstable();
    below
}

/// What to signal below `root`, leaving out the members of group `spare`.
fn targets(root: libc::pid_t, procs: &[Proc], spare: Option<libc::pid_t>) -> Targets {
    let below = tree(root, procs);
    let is_below = |pid| below.binary_search(&pid).is_ok();
    // Groups that hold any other process (reaper's own included) are never signalled whole.
    let mut shared: Vec<libc::pid_t> = procs
        .iter()
        .filter(|p| !is_below(p.pid))
        .map(|p| p.pgid)
        .collect();
    if !procs.iter().any(|p| p.pid == root) {
        shared.push(nix::unistd::getpgrp().as_raw());
    }
    shared.sort_unstable();
    let mut t = Targets::default();
    // A zombie is signalled no more, but it still holds its group, which may have members
    // the walk missed (a fork loop's, whose every member is gone before /proc is read).
    for p in procs
        .iter()
        .filter(|p| is_below(p.pid) && Some(p.pgid) != spare)
    {
        if shared.binary_search(&p.pgid).is_ok() {
            if !p.zombie {
                t.pids.push(*p);
            }
        } else if let Some((_, members)) = t.groups.iter_mut().find(|(g, _)| *g == p.pgid) {
            members.push(*p);
        } else {
            t.groups.push((p.pgid, vec![*p]));
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn proc(pid: i32, ppid: i32, pgid: i32) -> Proc {
        Proc {
            pid,
            ppid,
            pgid,
            zombie: false,
            stopped: false,
            start: 0,
        }
    }

    /// The pids of the members of each group, and the pids signalled alone.
    fn shape(t: &Targets) -> (Vec<(i32, Vec<i32>)>, Vec<i32>) {
        let groups = t
            .groups
            .iter()
            .map(|(g, m)| (*g, m.iter().map(|p| p.pid).collect()))
            .collect();
        (groups, t.pids.iter().map(|p| p.pid).collect())
    }

    #[test]
    fn groups_of_descendants_only_are_signalled_whole() {
        // 10 is reaper (group 1, shared with its parent 1). Below it: the app 20 (group 20)
        // with a child 21 in its group; a daemon 30 that made its own session (group 30)
        // with child 31; and 40, which joined reaper's own group 1. 50 is unrelated.
        let procs = [
            proc(1, 0, 1),
            proc(10, 1, 1),
            proc(20, 10, 20),
            proc(21, 20, 20),
            proc(30, 10, 30),
            proc(31, 30, 30),
            proc(40, 21, 1),
            proc(50, 1, 50),
        ];
        let t = targets(10, &procs, None);
        assert_eq!(
            shape(&t),
            (vec![(20, vec![20, 21]), (30, vec![30, 31])], vec![40]),
            "a descendant in reaper's own group is signalled alone"
        );
        // A group that an outsider also belongs to is never signalled whole.
        let mut with_outsider = procs.to_vec();
        with_outsider.push(proc(60, 1, 30));
        let t = targets(10, &with_outsider, None);
        assert_eq!(shape(&t), (vec![(20, vec![20, 21])], vec![30, 31, 40]));
        // A group already asked to end is left out, and only it.
        let t = targets(10, &procs, Some(30));
        assert_eq!(shape(&t), (vec![(20, vec![20, 21])], vec![40]));
        // A zombie is signalled no more on its own; in a group signalled whole it stays a
        // member, which holds the group.
        let mut with_zombies = procs.to_vec();
        with_zombies[6] = Proc {
            zombie: true,
            ..proc(40, 21, 1)
        };
        with_zombies[5].zombie = true;
        assert_eq!(
            shape(&targets(10, &with_zombies, None)),
            (vec![(20, vec![20, 21]), (30, vec![30, 31])], vec![])
        );
        // Nothing below: nothing to signal.
        assert_eq!(targets(50, &procs, None), Targets::default());
    }

    /// Polls `f` every 5 ms until it answers or 10 s pass.
    fn within_10s<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let answer = f();
            if answer.is_some() || std::time::Instant::now() >= deadline {
                return answer;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// A member of a group signalled whole that makes a session of its own between the walk
    /// and the signal (a daemon's `setsid`) still gets it, where it now is: the group it
    /// was found in is empty by then.
    #[test]
    fn a_member_that_left_its_group_after_the_walk_still_gets_the_signal() {
        use std::os::unix::process::{CommandExt, ExitStatusExt};
        use std::process::{Command, Stdio};
        // Its member's status is this test's to take, not `reap`'s tests'.
        let _one_at_a_time = crate::reap::REAPING.lock();
        let mut leader = Command::new("sleep").arg("1000").process_group(0).spawn();
        let leader = leader.as_mut().expect("spawn sleep");
        let group = leader.id() as libc::pid_t;
        // Not the group's leader, util-linux's setsid calls setsid() itself: same pid.
        let mut member = Command::new("sh")
            .args(["-c", "read _; exec setsid sleep 1000"])
            .process_group(group)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let pid = member.id() as libc::pid_t;
        let mut walk = Walk::new(nix::unistd::getpid().as_raw());
        let view = walk.survey().expect("/proc is readable in tests");
        let found = view.procs.iter().filter(|p| p.pid == group || p.pid == pid);
        let t = Targets {
            groups: vec![(group, found.copied().collect())],
            pids: Vec::new(),
        };
        // The group empties before the round: the leader is reaped, the member leaves.
        let _ = leader.kill();
        let _ = leader.wait();
        drop(
            member
                .stdin
                .take()
                .map(|mut i| std::io::Write::write_all(&mut i, b"\n")),
        );
        within_10s(|| {
            let sid = nix::unistd::getsid(Some(Pid::from_raw(pid)));
            sid.is_ok_and(|s| s.as_raw() == pid).then_some(())
        });
        let (mut count, mut notes) = (Count::default(), Notes::default());
        let sigs = [libc::SIGTERM];
        let whole = signal_targets(&mut walk, &t, &sigs, None, &mut count, &mut notes);
        let ended = within_10s(|| member.try_wait().ok().flatten());
        let _ = member.kill();
        let _ = member.wait();
        assert!(whole.is_empty(), "{whole:?}");
        assert_eq!(count.reached, 1, "{count:?}");
        assert_eq!(ended.and_then(|s| s.signal()), Some(libc::SIGTERM));
    }

    #[test]
    fn this_test_process_and_its_descendants() {
        // Two generations below us: a child shell that starts a sleeping grandchild.
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let mut line = String::new();
        let mut out = child.stdout.take().expect("stdout");
        let mut byte = [0u8; 1];
        while out.read(&mut byte).expect("read") == 1 && byte[0] != b'\n' {
            line.push(byte[0] as char);
        }
        let grandchild: libc::pid_t = line.trim().parse().expect("pid");
        let me = nix::unistd::getpid().as_raw();
        let view = Walk::new(me).survey();
        let _ = signals::send(grandchild, libc::SIGKILL);
        let _ = child.wait();
        let view = view.expect("/proc is readable in tests");
        let (groups, pids) = shape(&targets(me, &view.procs, None));
        // Both are in the test runner's own group, which reaper would never signal whole.
        // (Other tests' processes may be below us too, in groups of their own.)
        let ours = [child.id() as libc::pid_t, grandchild];
        assert!(
            groups
                .iter()
                .all(|(_, m)| !m.iter().any(|p| ours.contains(p))),
            "{groups:?}"
        );
        assert!(pids.contains(&(child.id() as libc::pid_t)), "{pids:?}");
        assert!(pids.contains(&grandchild), "{pids:?}");
        assert!(!pids.contains(&me));
    }
}
