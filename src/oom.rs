//! Out-of-memory kills: telling that the kernel's out-of-memory killer ended a process
//! reaper reaped, and naming it. It reads; it signals nobody (`--on-oom exit` is the
//! supervisor's).
//!
//! The kernel counts, per memory cgroup, the processes its out-of-memory killer killed
//! (`oom_kill N`: cgroup v2 `memory.events`, v1 `memory.oom_control`), and raises the count
//! before it sends the SIGKILL ("task reaper must see this", mm/oom_kill.c). So a child
//! that died of SIGKILL while the count of reaper's cgroup grew was killed by it. The count
//! is read then and only then: no polling, no wake-up.
//!
//! The cgroup is reaper's own, from /proc/self/cgroup, found once at start, and counted
//! from before the app starts. The file is opened again for each read (close-on-exec, on
//! the stack, no allocation), not held open: a held descriptor would take the one that,
//! at a descriptor limit of 4, reaper keeps for /proc so that the teardown can see what is
//! left (`procs::hold`), and the teardown matters more than a name in the log. At that
//! limit the count cannot be read, and reaper says so once. A container's cgroup file
//! system shows its own cgroup at its root while /proc/self/cgroup may give the host's
//! path (cgroup v1 without a cgroup namespace): the path is tried whole, then without its
//! first component, and so on to the root of the mount.
//!
//! Each kill counted names at most one SIGKILL death, so two processes killed at once and
//! reaped together are both named. The count says how many, not whom: a SIGKILL that
//! someone else sent while the killer ended another process of the cgroup may take that
//! one's name.

use std::fmt;
use std::os::fd::OwnedFd;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{describe, shown};

/// The count of out-of-memory kills in reaper's memory cgroup.
#[derive(Debug)]
pub struct Counter {
    /// The file that holds it.
    path: Vec<u8>,
    /// The count when last read.
    seen: u64,
    /// Kills counted and not yet matched with a SIGKILL death.
    unclaimed: u64,
    /// A read failed: said once, not again.
    said: bool,
}

impl Counter {
    /// Finds reaper's memory cgroup and opens its count. When it cannot, says so once, at
    /// debug level, or as a warning when `--on-oom exit` needs it (`needed`), and returns
    /// `None`: reaper carries on without.
    pub fn open(needed: bool) -> Option<Counter> {
        match find() {
            Ok(counter) => Some(counter),
            Err(why) if needed => {
                log::warn!("--on-oom exit: {why}: out-of-memory kills will not be seen");
                None
            }
            Err(why) => {
                log::debug!("{why}: out-of-memory kills will not be named");
                None
            }
        }
    }

    /// The count in `path`, for tests.
    #[cfg(test)]
    pub fn at(path: &std::path::Path) -> Counter {
        use std::os::unix::ffi::OsStrExt;
        let path = path.as_os_str().as_bytes().to_vec();
        let seen = read_count(&path).expect("read the count");
        Counter {
            path,
            seen,
            unclaimed: 0,
            said: false,
        }
    }

    /// Whether the out-of-memory killer killed the process just found dead of SIGKILL: a
    /// kill counted since and not claimed by another. Allocates nothing.
    pub fn claims_one(&mut self) -> bool {
        match read_count(&self.path) {
            Ok(now) => {
                self.unclaimed += now.saturating_sub(self.seen);
                self.seen = now;
            }
            Err(e) if !self.said => {
                self.said = true;
                log::debug!("cannot read the out-of-memory kill count: {}", describe(e));
            }
            Err(_) => {}
        }
        let claimed = self.unclaimed > 0;
        self.unclaimed = self.unclaimed.saturating_sub(1);
        claimed
    }
}

/// The count's file: where memory cgroups are mounted, its name, and the cgroup version.
struct Layout {
    mount: &'static str,
    file: &'static str,
    version: u8,
}

const V1: Layout = Layout {
    mount: "/sys/fs/cgroup/memory",
    file: "memory.oom_control",
    version: 1,
};
const V2: Layout = Layout {
    mount: "/sys/fs/cgroup",
    file: "memory.events",
    version: 2,
};

fn find() -> Result<Counter, String> {
    const OWN: &[u8] = b"/proc/self/cgroup";
    let unread = |path: &[u8], e| format!("cannot read {}: {}", shown(path), describe(e));
    // On the heap, given back once read: stack that reaper touches stays resident for its
    // life, and 4 KiB of it here cost RssAnon a page (measured).
    let mut buf = vec![0u8; 4096];
    let own = open(OWN)
        .and_then(|f| read_start(&f, &mut buf))
        .map_err(|e| unread(OWN, e))?;
    let (layout, paths) = candidates(own).ok_or("no memory cgroup in /proc/self/cgroup")?;
    let mut first_error = None;
    for path in paths {
        match read_count(&path) {
            Ok(seen) => {
                log::debug!(
                    "out-of-memory kills: counted in {} (cgroup v{}), {seen} so far",
                    shown(&path),
                    layout.version
                );
                return Ok(Counter {
                    path,
                    seen,
                    unclaimed: 0,
                    said: false,
                });
            }
            Err(e) => {
                first_error.get_or_insert((path, e));
            }
        }
    }
    let (first, e) = first_error.unwrap_or((Vec::new(), Errno::ENOENT));
    Err(unread(&first, e))
}

fn open(path: &[u8]) -> Result<OwnedFd, Errno> {
    nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
}

/// Where the count of the cgroup `own` (the text of /proc/self/cgroup) may be, in the
/// order to try: its whole path under the mount, then shorter and shorter ones, down to
/// the mount's root. The v1 memory hierarchy when there is one (a hybrid host has both),
/// else the v2 one. A component `..` (a cgroup outside reaper's cgroup namespace) ends
/// the paths tried there.
fn candidates(own: &[u8]) -> Option<(Layout, Vec<Vec<u8>>)> {
    let mut v1 = None;
    let mut v2 = None;
    for line in own.split(|&c| c == b'\n') {
        let mut fields = line.splitn(3, |&c| c == b':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if controllers.split(|&c| c == b',').any(|c| c == b"memory") {
            v1 = Some(path);
        } else if id == b"0" && controllers.is_empty() {
            v2 = Some(path);
        }
    }
    let (layout, path) = match (v1, v2) {
        (Some(path), _) => (V1, path),
        (None, Some(path)) => (V2, path),
        (None, None) => return None,
    };
    let parts: Vec<&[u8]> = path
        .split(|&c| c == b'/')
        .filter(|p| !p.is_empty())
        .collect();
    let usable = parts.iter().rposition(|&p| p == b"..").map_or(0, |i| i + 1);
    let paths = (usable..=parts.len())
        .map(|from| {
            let mut p = layout.mount.as_bytes().to_vec();
            for part in parts.get(from..).unwrap_or_default() {
                p.push(b'/');
                p.extend_from_slice(part);
            }
            p.push(b'/');
            p.extend_from_slice(layout.file.as_bytes());
            p
        })
        .collect();
    Some((layout, paths))
}

/// What `file` holds, as much as fits in `buf`: a cgroup or /proc file, read whole at once.
fn read_start<'b>(file: &OwnedFd, buf: &'b mut [u8]) -> Result<&'b [u8], Errno> {
    loop {
        match nix::unistd::read(file, buf) {
            Err(Errno::EINTR) => {}
            Ok(n) => return Ok(buf.get(..n).unwrap_or_default()),
            Err(e) => return Err(e),
        }
    }
}

/// The `oom_kill` count in the file at `path`, read on the stack.
fn read_count(path: &[u8]) -> Result<u64, Errno> {
    let mut buf = [0u8; 512];
    count_in(read_start(&open(path)?, &mut buf)?).ok_or(Errno::EINVAL)
}

/// The number on the `oom_kill` line of `text`.
fn count_in(text: &[u8]) -> Option<u64> {
    text.split(|&c| c == b'\n').find_map(|line| {
        let n = line.strip_prefix(b"oom_kill ")?;
        std::str::from_utf8(n).ok()?.trim().parse().ok()
    })
}

/// A process the out-of-memory killer killed: its pid and command name, read from /proc
/// before it was reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Victim {
    pub pid: libc::pid_t,
    /// The command name (at most 15 bytes, TASK_COMM_LEN less its NUL); empty when /proc
    /// could not tell.
    comm: [u8; 16],
    len: u8,
}

impl Victim {
    /// Process `pid`, still a zombie, as /proc names it.
    pub fn of(pid: libc::pid_t) -> Victim {
        let mut victim = Victim {
            pid,
            comm: [0; 16],
            len: 0,
        };
        let mut buf = [0u8; 32];
        let path = format!("/proc/{pid}/comm");
        if let Ok(comm) = open(path.as_bytes()).and_then(|f| read_start(&f, &mut buf)) {
            let comm = comm.strip_suffix(b"\n").unwrap_or(comm);
            let len = comm.len().min(victim.comm.len());
            victim.comm[..len].copy_from_slice(&comm[..len]);
            victim.len = len as u8;
        }
        victim
    }

    /// A victim named `comm`, for the tests' fake kernel.
    #[cfg(test)]
    pub fn named(pid: libc::pid_t, comm: &str) -> Victim {
        let mut victim = Victim {
            pid,
            comm: [0; 16],
            len: comm.len().min(16) as u8,
        };
        victim.comm[..usize::from(victim.len)]
            .copy_from_slice(&comm.as_bytes()[..usize::from(victim.len)]);
        victim
    }

    /// Logs the kill, as a warning (shown by default).
    pub fn report(&self) {
        log::warn!("{self} was killed by the out-of-memory killer");
    }
}

impl fmt::Display for Victim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.comm.get(..usize::from(self.len)) {
            Some(comm) if !comm.is_empty() => {
                write!(f, "process {} ({})", self.pid, crate::error::shown(comm))
            }
            _ => write!(f, "process {}", self.pid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tried(own: &str) -> Option<(u8, Vec<String>)> {
        candidates(own.as_bytes()).map(|(layout, paths)| {
            let paths = paths.iter().map(|p| shown(p)).collect();
            (layout.version, paths)
        })
    }

    #[test]
    fn v1_memory_is_found_and_tried_from_the_whole_path_down() {
        let own = "9:name=systemd:/\n4:memory:/docker/abc\n1:cpu,cpuacct:/\n0::/\n";
        let (version, paths) = tried(own).expect("found");
        assert_eq!(version, 1, "a hybrid host: the v1 memory hierarchy counts");
        assert_eq!(
            paths,
            [
                "/sys/fs/cgroup/memory/docker/abc/memory.oom_control",
                "/sys/fs/cgroup/memory/abc/memory.oom_control",
                "/sys/fs/cgroup/memory/memory.oom_control",
            ]
        );
        let (_, paths) = tried("5:blkio,memory:/\n").expect("found");
        assert_eq!(paths, ["/sys/fs/cgroup/memory/memory.oom_control"]);
    }

    #[test]
    fn v2_is_the_unified_line() {
        let (version, paths) = tried("0::/kubepods/pod1/c2\n").expect("found");
        assert_eq!(version, 2);
        assert_eq!(paths[0], "/sys/fs/cgroup/kubepods/pod1/c2/memory.events");
        assert_eq!(paths.last().unwrap(), "/sys/fs/cgroup/memory.events");
        // Outside reaper's cgroup namespace: nothing above the `..` is tried.
        let (_, paths) = tried("0::/../../x\n").expect("found");
        assert_eq!(
            paths,
            [
                "/sys/fs/cgroup/x/memory.events",
                "/sys/fs/cgroup/memory.events"
            ]
        );
        assert!(tried("3:cpu:/\n").is_none());
        assert!(tried("").is_none());
    }

    #[test]
    fn the_count_is_the_oom_kill_line() {
        let v1 = b"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(count_in(v1), Some(3));
        let v2 = b"low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n";
        assert_eq!(count_in(v2), Some(2));
        assert_eq!(count_in(b"oom_kill_disable 0\n"), None);
    }

    #[test]
    fn each_kill_counted_names_one_sigkill_death() {
        let path = std::env::temp_dir().join(format!("reaper-oom-count-{}", std::process::id()));
        let set = |n: u64| std::fs::write(&path, format!("under_oom 0\noom_kill {n}\n")).unwrap();
        set(4);
        let mut counter = Counter::at(&path);
        assert!(
            !counter.claims_one(),
            "kills before reaper started are not counted"
        );
        set(6);
        assert!(counter.claims_one());
        assert!(counter.claims_one(), "two kills, two deaths named");
        assert!(!counter.claims_one(), "a third SIGKILL was someone else's");
        std::fs::write(&path, "garbage").unwrap();
        assert!(!counter.claims_one(), "an unreadable count names nobody");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_victim_is_named_on_one_line() {
        let mut v = Victim {
            pid: 12,
            comm: [0; 16],
            len: 0,
        };
        assert_eq!(v.to_string(), "process 12");
        v.comm[..4].copy_from_slice(b"a\nb\xff");
        v.len = 4;
        assert_eq!(v.to_string(), "process 12 (a\\nb\\xff)");
    }
}
