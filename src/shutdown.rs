//! Teardown: ending whatever is left once the main child has exited (or `--pause` ends).
//!
//! Everything left gets SIGTERM (and SIGCONT, so a stopped process can act on it), then
//! reaper keeps reaping until nothing is left or the grace period ends; whatever remains
//! then gets SIGKILL. As PID 1 "everything" is the whole PID namespace, reached with
//! `kill(-1)`. As a subreaper it is only reaper's own descendants, found in `/proc`:
//! `kill(-1)` there would reach processes far outside the container.

use std::fs;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use crate::os_error::OsError;
use crate::reap::{self, Children};
use crate::signals::{self, SigSet};

/// How long reaper waits for SIGKILLed processes to be reaped before it gives up on them
/// (a process in uninterruptible sleep dies only when its I/O ends).
const KILL_WAIT: Duration = Duration::from_secs(2);

/// Which processes the teardown reaches.
#[derive(Debug, Clone, Copy)]
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

/// Ends every process in `scope`, reaping as it goes; `on_exit` sees each reaped process.
pub fn teardown(scope: Scope, grace: Duration, mut on_exit: impl FnMut(libc::pid_t, i32)) {
    if reap::drain(&mut on_exit) == Children::None {
        log::debug!("teardown: nothing left");
        return;
    }
    if !grace.is_zero() {
        let reached = signal_scope(scope, &[libc::SIGTERM, libc::SIGCONT]);
        log::info!("teardown: sent SIGTERM to {reached}; waiting up to {grace:?}");
        if wait_for_none(Instant::now().checked_add(grace), &mut on_exit) {
            log::info!("teardown: everything exited within the grace period");
            return;
        }
    }
    let deadline = Instant::now() + KILL_WAIT;
    loop {
        let reached = signal_scope(scope, &[libc::SIGKILL]);
        log::info!("teardown: sent SIGKILL to {reached}");
        // Under `kill(-1)` one round reaches all: the kernel lets no process fork once it
        // has a SIGKILL pending. In /proc, a child forked just before its parent was killed
        // may be missed by one walk and found by the next.
        let again = matches!(scope, Scope::Descendants { .. }) && reached != Reached::None;
        let until = if again {
            Instant::now() + Duration::from_millis(20)
        } else {
            deadline
        };
        if wait_for_none(Some(until.min(deadline)), &mut on_exit) {
            return;
        }
        if !again || Instant::now() >= deadline {
            break;
        }
    }
    log::warn!("teardown: processes still left {KILL_WAIT:?} after SIGKILL; exiting anyway");
}

/// Reaps until no child is left (`true`) or `deadline` passes (`false`). No deadline
/// means the grace period is too long to be represented: wait for as long as it takes.
fn wait_for_none(deadline: Option<Instant>, on_exit: &mut impl FnMut(libc::pid_t, i32)) -> bool {
    loop {
        if reap::drain(&mut *on_exit) == Children::None {
            return true;
        }
        let remaining = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(r) if !r.is_zero() => Some(r),
                _ => return false,
            },
            None => None,
        };
        // Only SIGCHLD matters now; anything else that arrives has no one to go to.
        if let Some(sig) = signals::wait(SigSet::handled(), remaining)
            && sig.signo != libc::SIGCHLD
        {
            log::debug!("teardown: ignoring {}", signals::name(sig.signo));
        }
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

fn signal_scope(scope: Scope, sigs: &[i32]) -> Reached {
    match scope {
        Scope::Namespace => {
            for &sig in sigs {
                if let Err(e) = signals::send(-1, sig) {
                    log::debug!("kill(-1, {}): {e}", signals::name(sig));
                }
            }
            Reached::Everything
        }
        Scope::Descendants { own_pid, app_group } => match descendants(own_pid) {
            Ok(pids) => {
                for &pid in &pids {
                    for &sig in sigs {
                        // ESRCH: it exited since the walk, which is what we want anyway.
                        let _ = signals::send(pid, sig);
                    }
                }
                if pids.is_empty() {
                    Reached::None
                } else {
                    Reached::Processes(pids.len())
                }
            }
            Err(e) => {
                log::warn!(
                    "teardown: cannot list descendants in /proc ({e}); signalling the app's process group only"
                );
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

/// Every descendant of `root`, from the parent links in `/proc/*/stat`.
fn descendants(root: libc::pid_t) -> Result<Vec<libc::pid_t>, String> {
    let os = |e: io::Error| OsError::from(e).to_string();
    // A /proc of another PID namespace (mounted for the host, say) names other processes by
    // our pids; walking it would signal strangers.
    let me = fs::read_link("/proc/self").map_err(os)?;
    if me.as_os_str().to_str() != Some(root.to_string().as_str()) {
        return Err("it belongs to another PID namespace".into());
    }
    let mut links = Vec::new(); // (parent, child)
    for entry in fs::read_dir("/proc").map_err(os)? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if let Some(ppid) = parent_of(pid) {
            links.push((ppid, pid));
        }
    }
    links.sort_unstable();
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        let start = links.partition_point(|&(p, _)| p < parent);
        for &(p, child) in &links[start..] {
            if p != parent {
                break;
            }
            found.push(child);
            frontier.push(child);
        }
    }
    Ok(found)
}

/// The parent pid from `/proc/PID/stat`, or `None` when the process is gone.
fn parent_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    // The parent is the second field after the command name, which ends at the last ')'
    // (the name itself may hold ')' and spaces). 512 bytes always reach it.
    let mut buf = [0u8; 512];
    let mut file = fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let n = file.read(&mut buf).ok()?;
    parse_ppid(&buf[..n])
}

fn parse_ppid(stat: &[u8]) -> Option<libc::pid_t> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    rest.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppid_from_stat() {
        assert_eq!(parse_ppid(b"42 (sleep) S 7 42 1 0 -1 4194304"), Some(7));
        assert_eq!(parse_ppid(b"42 (a) b) c) R 99 42 1"), Some(99));
        assert_eq!(parse_ppid(b"42 (x y z) Z 1 0"), Some(1));
        assert_eq!(parse_ppid(b"42 (unterminated S 7"), None);
        assert_eq!(parse_ppid(b""), None);
    }

    #[test]
    fn descendants_of_this_test_process() {
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
        // SAFETY: getpid has no preconditions.
        let me = unsafe { libc::getpid() };
        let found = descendants(me);
        let _ = signals::send(grandchild, libc::SIGKILL);
        let _ = child.wait();
        let found = found.expect("/proc is readable in tests");
        assert!(found.contains(&(child.id() as libc::pid_t)), "{found:?}");
        assert!(found.contains(&grandchild), "{found:?}");
        assert!(!found.contains(&me));
    }
}
