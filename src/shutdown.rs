//! Teardown: ending whatever is left once the main child has exited (or `--pause` ends).
//!
//! Everything left gets SIGTERM (and SIGCONT, so a stopped process can act on it), then
//! reaper keeps reaping until nothing is left or the grace period ends; whatever remains
//! then gets SIGKILL. As PID 1 "everything" is the whole PID namespace, reached with
//! `kill(-1)`. As a subreaper it is only reaper's own descendants, found in `/proc`:
//! `kill(-1)` there would reach processes far outside the container.
//!
//! As PID 1, not everything in the namespace is reaper's child: in a pod's shared PID
//! namespace the other containers' processes, and anything `docker exec` starts, have a
//! parent outside it. They send reaper no SIGCHLD and `waitpid` never sees them, so
//! "nothing left" is `kill(-1, 0)` finding no one, and the wait polls for it.

use std::fs;
use std::io::Read;
use std::time::{Duration, Instant};

use crate::error::{Error, describe};
use crate::reap::{self, Children};
use crate::setup::Place;
use crate::signals;
use crate::signo::{self, SigSet};

/// How long reaper waits for SIGKILLed processes to be reaped before it gives up on them
/// (a process in uninterruptible sleep dies only when its I/O ends).
const KILL_WAIT: Duration = Duration::from_secs(2);

/// How soon a PID 1 teardown first looks again for processes that are not its children,
/// and how long it waits at most between looks: nothing tells reaper when they exit, and
/// each look reads all of /proc, so the wait doubles from the first to the last. (With
/// 1,500 such processes, a look every 10 ms cost reaper 3.3 s of CPU in a 5 s grace period.)
const FIRST_LOOK: Duration = Duration::from_millis(10);
const LAST_LOOK: Duration = Duration::from_millis(250);

/// Which processes the teardown reaches.
#[derive(Debug, Clone, Copy)]
enum Scope {
    /// reaper is PID 1: every process in the namespace.
    Namespace,
    /// reaper is a subreaper: its descendants only. When `/proc` cannot list them, the
    /// main child's process group, if there is one, is all reaper can still reach.
    Descendants {
        own_pid: libc::pid_t,
        app_group: Option<libc::pid_t>,
    },
}

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

/// Ends every process that reaper, standing at `place`, is responsible for, reaping as it
/// goes; `on_exit` sees each reaped process. `app_group` is the main child's process group.
pub fn teardown(
    place: Place,
    app_group: Option<libc::pid_t>,
    spare: Spare,
    grace: Duration,
    on_exit: impl FnMut(libc::pid_t, i32),
) {
    Teardown {
        scope: Scope::of(place, app_group),
        spare,
        on_exit,
        warned_about_proc: false,
    }
    .run(grace);
}

/// Sends `sigs`, in turn, to every process that reaper, standing at `place`, is
/// responsible for, as the teardown reaches them: as PID 1 the whole namespace, as a
/// subreaper its own descendants (`--wait-all`, once the main child is gone).
pub fn signal_everything(place: Place, app_group: Option<libc::pid_t>, sigs: &[i32]) {
    let mut t = Teardown {
        scope: Scope::of(place, app_group),
        spare: Spare::Nobody,
        on_exit: |_, _| {},
        warned_about_proc: false,
    };
    t.signal(sigs, None);
}

impl Scope {
    fn of(place: Place, app_group: Option<libc::pid_t>) -> Scope {
        match place {
            Place::Pid1 => Scope::Namespace,
            Place::Subreaper(own_pid) => Scope::Descendants { own_pid, app_group },
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

struct Teardown<F> {
    scope: Scope,
    spare: Spare,
    on_exit: F,
    warned_about_proc: bool,
}

impl<F: FnMut(libc::pid_t, i32)> Teardown<F> {
    fn run(&mut self, grace: Duration) {
        if self.left() == Left::Nothing {
            log::debug!("teardown: nothing left");
            return;
        }
        if !grace.is_zero() {
            match self.spare {
                Spare::Group(g) => {
                    let reached = self.signal(&[libc::SIGTERM, libc::SIGCONT], Some(g));
                    log::info!(
                        "teardown: sent SIGTERM to {reached} (not to process group {g}, already asked to end); waiting up to {grace:?}"
                    )
                }
                Spare::Nobody => {
                    let reached = self.signal(&[libc::SIGTERM, libc::SIGCONT], None);
                    log::info!("teardown: sent SIGTERM to {reached}; waiting up to {grace:?}")
                }
                Spare::Everything => log::info!(
                    "teardown: everything left was already asked to end; waiting up to {grace:?}"
                ),
            }
            if self.wait_for_none(Instant::now().checked_add(grace)) {
                log::info!("teardown: everything exited within the grace period");
                return;
            }
        }
        let deadline = Instant::now() + KILL_WAIT;
        loop {
            let reached = self.signal(&[libc::SIGKILL], None);
            log::info!("teardown: sent SIGKILL to {reached}");
            // Under `kill(-1)` one round reaches all: the kernel lets no process fork once
            // it has a SIGKILL pending. In /proc, a child forked just before its parent was
            // killed may be missed by one walk and found by the next.
            let again = matches!(self.scope, Scope::Descendants { .. }) && reached != Reached::None;
            let until = if again {
                Instant::now() + Duration::from_millis(20)
            } else {
                deadline
            };
            if self.wait_for_none(Some(until.min(deadline))) {
                return;
            }
            if !again || Instant::now() >= deadline {
                break;
            }
        }
        log::warn!("teardown: processes still left {KILL_WAIT:?} after SIGKILL; exiting anyway");
    }

    /// Reaps what exited, and says what is still there.
    fn left(&mut self) -> Left {
        let children = reap::drain(&mut self.on_exit);
        let descendants = if children == Children::Running {
            Left::Descendants
        } else {
            // Everything below reaper is reparented to it as its parents exit: no child,
            // no descendant.
            Left::Nothing
        };
        match self.scope {
            // ESRCH: no other process in the namespace at all, the usual end of a
            // container, known with one syscall and no /proc walk.
            Scope::Namespace if signals::send(-1, 0).is_err() => Left::Nothing,
            Scope::Namespace if others_in_namespace() => Left::Others,
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
                Some(d) => match d.checked_duration_since(Instant::now()) {
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
            if let Some(sig) = signals::wait(SigSet::handled(), remaining)
                && sig.signo != libc::SIGCHLD
                && !sig.is_self_inflicted()
            {
                log::debug!("teardown: ignoring {}", signo::name(sig.signo));
            }
        }
    }

    /// Sends `sigs` to every process in scope but the members of group `spare`.
    fn signal(&mut self, sigs: &[i32], spare: Option<libc::pid_t>) -> Reached {
        match self.scope {
            Scope::Namespace if spare.is_some() => match processes(1) {
                Ok(procs) => {
                    // One by one: `kill(-1)` cannot leave a group out. A fork loop may
                    // outrun this round, but not the SIGKILL round, which is `kill(-1)`.
                    let mut n = 0;
                    for p in procs
                        .iter()
                        .filter(|p| p.pid != 1 && !p.zombie && Some(p.pgid) != spare)
                    {
                        n += 1;
                        for &sig in sigs {
                            let _ = signals::send(p.pid, sig);
                        }
                    }
                    Reached::Processes(n)
                }
                Err(e) => {
                    log::debug!("teardown: cannot list processes in /proc ({e}): signalling all");
                    self.signal(sigs, None)
                }
            },
            Scope::Namespace => {
                for &sig in sigs {
                    if let Err(e) = signals::send(-1, sig) {
                        log::debug!("kill(-1, {}): {}", signo::name(sig), describe(e));
                    }
                }
                Reached::Everything
            }
            Scope::Descendants { own_pid, app_group } => match processes(own_pid) {
                Ok(procs) => {
                    let t = targets(own_pid, &procs, spare);
                    for &sig in sigs {
                        // ESRCH: gone since the walk, which is what we want anyway.
                        let groups = t.groups.iter().map(|&g| -g);
                        for target in groups.chain(t.pids.iter().copied()) {
                            let _ = signals::send(target, sig);
                        }
                    }
                    match t.count {
                        0 => Reached::None,
                        n => Reached::Processes(n),
                    }
                }
                Err(e) => {
                    if !self.warned_about_proc {
                        self.warned_about_proc = true;
                        log::warn!(
                            "teardown: cannot list descendants in /proc ({e}); signalling the app's process group only"
                        );
                    }
                    let Some(group) = app_group else {
                        return Reached::None;
                    };
                    for &sig in sigs {
                        let _ = signals::send(-group, sig);
                    }
                    Reached::Group(group)
                }
            },
        }
    }
}

/// As PID 1: whether the namespace holds a live process outside reaper's own tree that
/// reaper may signal. In a pod's shared PID namespace the other containers' processes, and
/// anything `docker exec` starts, have a parent outside the namespace: they send reaper no
/// SIGCHLD and `waitpid` never sees them. One that reaper may not signal (another user's,
/// in a container without root) does not count: nothing reaper could do would end it.
fn others_in_namespace() -> bool {
    match processes(1) {
        Ok(procs) => {
            let mine = tree(1, &procs);
            procs.iter().any(|p| {
                p.pid != 1
                    && !p.zombie
                    && mine.binary_search(&p.pid).is_err()
                    && signals::send(p.pid, 0).is_ok()
            })
        }
        // Without /proc, the kernel can still say whether anything at all is there, though
        // not whose it is: assume the worst, and keep looking.
        Err(_) => signals::send(-1, 0).is_ok(),
    }
}

/// What a signalling round reached, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reached {
    Everything,
    Processes(usize),
    Group(libc::pid_t),
    None,
}

impl std::fmt::Display for Reached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reached::Everything => f.write_str("every process in the namespace"),
            Reached::Processes(n) => write!(f, "{n} processes"),
            Reached::Group(g) => write!(f, "process group {g}"),
            Reached::None => f.write_str("no process"),
        }
    }
}

/// A process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Proc {
    pid: libc::pid_t,
    ppid: libc::pid_t,
    pgid: libc::pid_t,
    zombie: bool,
}

/// What one teardown round signals below `root`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Targets {
    /// Process groups whose every member is a descendant. A group is signalled with one
    /// `kill(-pgid)`, which, like `kill(-1)`, the kernel lets no member escape by forking:
    /// a fork loop cannot outrun it.
    groups: Vec<libc::pid_t>,
    /// Descendants in a group shared with some other process: signalled one by one.
    pids: Vec<libc::pid_t>,
    /// How many descendants are signalled.
    count: usize,
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
    for p in procs
        .iter()
        .filter(|p| is_below(p.pid) && Some(p.pgid) != spare)
    {
        t.count += 1;
        if shared.binary_search(&p.pgid).is_ok() {
            t.pids.push(p.pid);
        } else if !t.groups.contains(&p.pgid) {
            t.groups.push(p.pgid);
        }
    }
    t
}

/// Every process in `/proc`, after checking that it is the /proc of reaper's own PID
/// namespace (`root` is reaper's pid).
fn processes(root: libc::pid_t) -> Result<Vec<Proc>, Error> {
    // A /proc of another PID namespace (mounted for the host, say) names other processes by
    // our pids; walking it would signal strangers.
    let me = fs::read_link("/proc/self")?;
    if me.as_os_str().to_str() != Some(root.to_string().as_str()) {
        return Err(Error::other("it belongs to another PID namespace"));
    }
    let mut procs = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if let Some(p) = read_stat(pid) {
            procs.push(p);
        }
    }
    Ok(procs)
}

/// `/proc/PID/stat`, or `None` when the process is gone.
fn read_stat(pid: libc::pid_t) -> Option<Proc> {
    // The fields we need come right after the command name, which ends at the last ')'
    // (the name itself may hold ')' and spaces). 512 bytes always reach them.
    let mut buf = [0u8; 512];
    let mut file = fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let n = file.read(&mut buf).ok()?;
    parse_stat(pid, &buf[..n])
}

fn parse_stat(pid: libc::pid_t, stat: &[u8]) -> Option<Proc> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // After the name: state, ppid, pgrp.
    let mut fields = rest.split_ascii_whitespace();
    let zombie = fields.next()? == "Z";
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        pgid,
        zombie,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields() {
        let p = |s: &[u8]| parse_stat(42, s);
        assert_eq!(
            p(b"42 (sleep) S 7 40 1 0 -1"),
            Some(Proc {
                pid: 42,
                ppid: 7,
                pgid: 40,
                zombie: false
            })
        );
        assert_eq!(
            p(b"42 (a) b) c) R 99 42 1"),
            Some(Proc {
                pid: 42,
                ppid: 99,
                pgid: 42,
                zombie: false
            })
        );
        assert_eq!(
            p(b"42 (x y z) Z 1 0 0"),
            Some(Proc {
                pid: 42,
                ppid: 1,
                pgid: 0,
                zombie: true
            })
        );
        assert_eq!(p(b"42 (unterminated S 7 1"), None);
        assert_eq!(p(b"42 (short) S 7"), None);
        assert_eq!(p(b""), None);
    }

    fn proc(pid: i32, ppid: i32, pgid: i32) -> Proc {
        Proc {
            pid,
            ppid,
            pgid,
            zombie: false,
        }
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
        assert_eq!(t.groups, [20, 30]);
        assert_eq!(
            t.pids,
            [40],
            "a descendant in reaper's own group is signalled alone"
        );
        assert_eq!(t.count, 5);
        // A group that an outsider also belongs to is never signalled whole.
        let mut with_outsider = procs.to_vec();
        with_outsider.push(proc(60, 1, 30));
        let t = targets(10, &with_outsider, None);
        assert_eq!(t.groups, [20]);
        assert_eq!(t.pids, [30, 31, 40]);
        // A group already asked to end is left out, and only it.
        let t = targets(10, &procs, Some(30));
        assert_eq!((t.groups, t.pids, t.count), (vec![20], vec![40], 3));
        // Nothing below: nothing to signal.
        assert_eq!(targets(50, &procs, None), Targets::default());
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
        let procs = processes(me);
        let _ = signals::send(grandchild, libc::SIGKILL);
        let _ = child.wait();
        let procs = procs.expect("/proc is readable in tests");
        let t = targets(me, &procs, None);
        // Both are in the test runner's own group, which reaper would never signal whole.
        assert!(t.groups.is_empty(), "{t:?}");
        assert!(t.pids.contains(&(child.id() as libc::pid_t)), "{t:?}");
        assert!(t.pids.contains(&grandchild), "{t:?}");
        assert!(!t.pids.contains(&me));
    }
}
