//! What reaper can see of the processes in its PID namespace, and how it signals one it
//! found there without hitting another that took its pid since.
//!
//! The kernel shows reaper a few things whatever the /proc mount hides (`hidepid`) and
//! however few descriptors are left: which of its own children remain (`waitpid`), the
//! process group and session of any pid (`getpgid`, `getsid`), and as PID 1 everything in
//! the namespace at once (`kill(-1)`). /proc adds the rest: every pid, each one's parent and
//! start time, and reaper's own children by pid (`/proc/PID/task/PID/children`, which
//! `hidepid` never hides from reaper). reaper holds /proc open from its start (`hold`), so
//! that a walk can list it with no descriptor to spare; reading one process's file takes
//! one more, and when none is free the walk spends the held one until it ends (at
//! `RLIMIT_NOFILE` 4, the held one is the only one). A walk that could not see everything
//! says so (`View`), for the teardown to warn about and work around.
//!
//! Exact signals: a pid found in /proc may belong to another process by the time it is
//! signalled, one outside reaper's tree. A child of reaper's keeps its pid until reaper
//! reaps it (as a zombie if need be), and reaper reaps nothing while it signals: its pid is
//! exact. Any other process is signalled through a pidfd, opened and then checked against
//! the start time the walk read, so that the signal reaches the process found or nobody.
//! Signalling by pid remains only where the kernel has no pidfds (before Linux 5.3) or no
//! descriptor is free for one: the race it leaves is the one every init had before pidfds.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard, PoisonError};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::error::Error;
use crate::signals;
use crate::stat::Fields;

/// A process as `/proc/PID/stat` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proc {
    pub pid: libc::pid_t,
    pub ppid: libc::pid_t,
    pub pgid: libc::pid_t,
    pub zombie: bool,
    /// Stopped (state T), or stopped under a debugger (t).
    pub stopped: bool,
    /// Clock ticks after boot: with the pid, it names one process for good.
    pub start: u64,
}

/// /proc, held open since reaper started; `None` when it could not be opened or a walk
/// spent it and could not take it back.
static HELD: Mutex<Option<Dir>> = Mutex::new(None);

fn held() -> MutexGuard<'static, Option<Dir>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Opens /proc and keeps it for the teardown, once reaper has closed the descriptors it
/// inherited (so it takes the lowest free one). reaper is `own_pid`.
pub fn hold(own_pid: libc::pid_t) {
    let mut held = held();
    if held.is_some() {
        return;
    }
    match check_namespace(own_pid).and_then(|()| open_proc()) {
        Ok(dir) => *held = Some(dir),
        Err(e) => log::debug!("cannot hold /proc open for the teardown: {e}"),
    }
}

fn open_proc() -> Result<Dir, Error> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    Dir::open("/proc", flags, Mode::empty()).map_err(|e| Error::from(std::io::Error::from(e)))
}

/// A /proc of another PID namespace (mounted for the host, say) names other processes by
/// our pids: walking it would signal strangers.
fn check_namespace(own_pid: libc::pid_t) -> Result<(), Error> {
    let me = std::fs::read_link("/proc/self")?;
    if me.as_os_str().to_str() != Some(own_pid.to_string().as_str()) {
        return Err(Error::other("it belongs to another PID namespace"));
    }
    Ok(())
}

/// What one walk of /proc saw.
#[derive(Debug, Default)]
pub struct View {
    /// Every process whose stat could be read.
    pub procs: Vec<Proc>,
    /// Listed, but its stat could not be read (`hidepid=1`, or no descriptor free): the
    /// pid is all reaper knows.
    pub unread: Vec<libc::pid_t>,
    /// reaper's own children as the kernel lists them; `None` when it cannot.
    pub children: Option<Vec<libc::pid_t>>,
}

impl View {
    /// reaper's children that the walk did not see (a `hidepid=2` mount lists no process
    /// of another user; a child unread is in `unread` too).
    pub fn unseen_children(&self) -> Vec<libc::pid_t> {
        let seen = |pid| self.procs.iter().any(|p| p.pid == pid);
        let mut unseen: Vec<_> = self
            .children
            .iter()
            .flatten()
            .copied()
            .filter(|&c| !seen(c))
            .collect();
        unseen.sort_unstable();
        unseen
    }

    pub fn is_child(&self, pid: libc::pid_t) -> bool {
        self.children.as_ref().is_some_and(|c| c.contains(&pid))
    }
}

/// One round of looking and signalling by reaper (`own_pid`). When a read needed the held
/// /proc descriptor, the round takes it back as it ends.
pub struct Walk {
    own_pid: libc::pid_t,
    spent: bool,
    /// No descriptor was free for a pidfd: some process was signalled by pid.
    pub by_pid: bool,
}

impl Drop for Walk {
    fn drop(&mut self) {
        if self.spent {
            hold(self.own_pid);
        }
    }
}

impl Walk {
    pub fn new(own_pid: libc::pid_t) -> Walk {
        Walk {
            own_pid,
            spent: false,
            by_pid: false,
        }
    }

    /// Every process in /proc, after checking that it is the /proc of reaper's namespace.
    pub fn survey(&mut self) -> Result<View, Error> {
        check_namespace(self.own_pid)?;
        let pids = list()?;
        let mut view = View {
            children: self.children(),
            ..View::default()
        };
        let mut buf = [0u8; 1024];
        for pid in pids {
            match self.read(&format!("/proc/{pid}/stat"), &mut buf) {
                Ok(n) => match parse_stat(pid, &buf[..n]) {
                    Some(p) => view.procs.push(p),
                    None => view.unread.push(pid),
                },
                // Gone since it was listed.
                Err(Errno::ENOENT | Errno::ESRCH) => {}
                Err(_) => view.unread.push(pid),
            }
        }
        Ok(view)
    }

    /// reaper's children, from the kernel's own list (`CONFIG_PROC_CHILDREN`). reaper has
    /// one thread, which every child of reaper's hangs from.
    fn children(&mut self) -> Option<Vec<libc::pid_t>> {
        let own = self.own_pid;
        let path = format!("/proc/{own}/task/{own}/children");
        let mut file = self.open(&path).ok()?;
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        Some(
            text.split_ascii_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect(),
        )
    }

    /// Opens a file in /proc, spending the held descriptor when no other is free.
    fn open(&mut self, path: &str) -> Result<File, Errno> {
        loop {
            match File::open(path) {
                Ok(f) => return Ok(f),
                Err(e) => {
                    let errno = Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO));
                    if matches!(errno, Errno::EMFILE | Errno::ENFILE) && self.spend() {
                        continue;
                    }
                    return Err(errno);
                }
            }
        }
    }

    fn read(&mut self, path: &str, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut file = self.open(path)?;
        file.read(buf)
            .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    }

    /// Closes the held /proc descriptor so that the next open can have its number.
    fn spend(&mut self) -> bool {
        let spent = held().take().is_some();
        self.spent |= spent;
        spent
    }

    /// Sends `sigs` to `p`, found in this round's walk, and to no process that took its
    /// pid since. `Err(ESRCH)`: it is gone; `Err(EPERM)`: reaper may not signal it.
    pub fn send(&mut self, p: &Proc, sigs: &[i32]) -> Result<(), Errno> {
        if p.ppid == self.own_pid {
            return send_by_pid(p.pid, sigs);
        }
        let pidfd = loop {
            match signals::pidfd_open(p.pid) {
                Ok(fd) => break fd,
                Err(Errno::EMFILE | Errno::ENFILE) if self.spend() => continue,
                // Before Linux 5.3 there are no pidfds (ENOSYS), and a seccomp profile
                // older than them denies the call (EPERM: pidfd_open checks no permission
                // of its own): by pid, as every init did then. With no descriptor free for
                // one, the same, and the round says so.
                Err(e @ (Errno::ENOSYS | Errno::EPERM | Errno::EMFILE | Errno::ENFILE)) => {
                    self.by_pid |= matches!(e, Errno::EMFILE | Errno::ENFILE);
                    return send_by_pid(p.pid, sigs);
                }
                Err(e) => return Err(e),
            }
        };
        // The pidfd is for whatever process has the pid now: it must be the one found.
        // When its stat cannot be read for the check (no second descriptor free), the
        // pidfd still names the process that had the pid a moment ago, as kill would.
        let mut buf = [0u8; 1024];
        match self.read(&format!("/proc/{}/stat", p.pid), &mut buf) {
            Ok(n) => match parse_stat(p.pid, &buf[..n]) {
                Some(now) if now.start == p.start => {}
                _ => return Err(Errno::ESRCH),
            },
            Err(Errno::ENOENT | Errno::ESRCH) => return Err(Errno::ESRCH),
            Err(_) => self.by_pid = true,
        }
        for (i, &sig) in sigs.iter().enumerate() {
            match signals::pidfd_send(pidfd.as_fd(), sig) {
                // The first signal may have ended it.
                Err(Errno::ESRCH) if i > 0 => {}
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
        Ok(())
    }

    /// Sends `sigs` to process group `pgid`, which the walk found made of `members` only,
    /// as long as one of them is still there as found: then the group is the one found.
    /// One `kill(-pgid)` lets no member escape by forking, as a round of pids would.
    /// `Ok(false)`: no member is left as found (the group is gone, or has only members the
    /// walk did not see: the next round finds them).
    pub fn send_to_group(
        &mut self,
        pgid: libc::pid_t,
        members: &[Proc],
        sigs: &[i32],
    ) -> Result<bool, Errno> {
        // A child of reaper's, even dead (a zombie the walk found), holds its group until
        // reaper reaps it, unless it left the group since the walk (`setsid`): the kill then
        // finds the group empty (ESRCH), and the round signals each member where it is.
        let held_by_child = members.iter().any(|m| m.ppid == self.own_pid);
        let still_there = held_by_child
            || members.iter().any(|m| {
                // Refused is there too: the kill below is refused the same way, and says so.
                matches!(self.send(m, &[0]), Ok(()) | Err(Errno::EPERM))
                    && nix::unistd::getpgid(Some(Pid::from_raw(m.pid)))
                        .is_ok_and(|g| g.as_raw() == pgid)
            });
        if !still_there {
            return Ok(false);
        }
        send_by_pid(-pgid, sigs).map(|()| true)
    }
}

/// Sends each of `sigs` to `target` (a pid, or minus a process group): the first error
/// but ESRCH on a later signal (the first one may have ended it).
pub fn send_by_pid(target: libc::pid_t, sigs: &[i32]) -> Result<(), Errno> {
    for (i, &sig) in sigs.iter().enumerate() {
        match signals::send(target, sig) {
            Err(Errno::ESRCH) if i > 0 => {}
            Err(e) => return Err(e),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// Every pid in /proc: through the held descriptor, which needs no other; else through a
/// fresh one, closed before anything else is read.
fn list() -> Result<Vec<libc::pid_t>, Error> {
    let mut held = held();
    let mut fresh;
    let dir = match held.as_mut() {
        Some(dir) => dir,
        None => {
            fresh = open_proc()?;
            &mut fresh
        }
    };
    // The iterator rewinds the directory when dropped, for the next walk.
    Ok(dir
        .iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().ok()?.parse().ok())
        .collect())
}

pub fn parse_stat(pid: libc::pid_t, stat: &[u8]) -> Option<Proc> {
    let fields = Fields::of(stat)?;
    let state = fields.state()?;
    Some(Proc {
        pid,
        ppid: fields.parse(4)?,
        pgid: fields.parse(5)?,
        zombie: state == b'Z',
        stopped: matches!(state, b'T' | b't'),
        start: fields.parse(22)?,
    })
}

/// `/proc/PID/stat` of one process; `None` when it cannot be read (gone, hidden).
pub fn read_stat(pid: libc::pid_t) -> Option<Proc> {
    // 1024 bytes always reach the start time (field 22).
    let mut buf = [0u8; 1024];
    let n = File::open(format!("/proc/{pid}/stat"))
        .and_then(|mut f| f.read(&mut buf))
        .ok()?;
    parse_stat(pid, buf.get(..n)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAIL: &str = "0 -1 4194304 100 0 0 0 1 2 0 0 20 0 1 0 777 1000 200";

    #[test]
    fn stat_fields() {
        let p = |s: String| parse_stat(42, s.as_bytes());
        let want = |ppid, pgid, zombie| {
            Some(Proc {
                pid: 42,
                ppid,
                pgid,
                zombie,
                stopped: false,
                start: 777,
            })
        };
        assert_eq!(p(format!("42 (sleep) S 7 40 1 {TAIL}")), want(7, 40, false));
        assert_eq!(
            p(format!("42 (a) b) c) R 99 42 1 {TAIL}")),
            want(99, 42, false)
        );
        assert_eq!(p(format!("42 (x y z) Z 1 0 0 {TAIL}")), want(1, 0, true));
        assert_eq!(p("42 (unterminated S 7 1".into()), None);
        assert_eq!(p("42 (short) S 7 40 1 0 0".into()), None);
        assert_eq!(p(String::new()), None);
        // Our own, as the kernel writes it.
        let me = nix::unistd::getpid().as_raw();
        let stat = std::fs::read(format!("/proc/{me}/stat")).expect("stat");
        let mine = parse_stat(me, &stat).expect("own stat");
        assert_eq!(mine.ppid, nix::unistd::getppid().as_raw());
        assert!(mine.start > 0);
    }

    /// A process found under a pid that now belongs to another (its start time differs)
    /// gets no signal; the one found does.
    #[test]
    fn a_pid_taken_by_another_process_is_not_signalled() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("spawn sleep");
        let pid = child.id() as libc::pid_t;
        let stat = std::fs::read(format!("/proc/{pid}/stat")).expect("stat");
        let found = parse_stat(pid, &stat).expect("parse");
        // As found by some other process than its parent: the pidfd path.
        let mut walk = Walk::new(-1);
        let earlier = Proc {
            start: found.start - 1,
            ..found
        };
        assert_eq!(walk.send(&earlier, &[libc::SIGKILL]), Err(Errno::ESRCH));
        assert_eq!(walk.send(&found, &[0]), Ok(()));
        assert!(
            child.try_wait().expect("try_wait").is_none(),
            "the other process was killed"
        );
        assert_eq!(walk.send(&found, &[libc::SIGKILL]), Ok(()));
        let status = child.wait().expect("wait");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}
