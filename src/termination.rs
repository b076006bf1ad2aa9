//! The termination message: one line saying why the application failed, written where
//! Kubernetes looks for it (`/dev/termination-log`, or `--termination-log`), which `kubectl
//! describe pod` then shows as the container's last state.
//!
//! Only into a regular file that is there and still empty: reaper never creates one (a
//! read-only root file system is normal) and never overwrites what the application wrote.
//! Written once, as reaper exits; nothing about it can change the exit status.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use log::Level;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag};

use crate::cli::{DEFAULT_TERMINATION_LOG, TerminationLog};
use crate::error::describe;
use crate::oom::Victim;
use crate::signo;

/// Why reaper ends with the status it does, as far as the message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// The status is that of a process that ended (the main child, or with `--wait-all`
    /// the last one): its wait status, and whether the out-of-memory killer killed it.
    Ended { status: i32, oom: bool },
    /// `--on-oom exit`: the out-of-memory killer killed this process.
    OomKill(Victim),
    /// Nothing to say (`--pause` ended, or reaper's own failure).
    Nothing,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Why::Ended { oom: true, .. } => f.write_str("killed by the out-of-memory killer"),
            Why::Ended { status, .. } if libc::WIFSIGNALED(status) => {
                write!(f, "killed by {}", signo::name(libc::WTERMSIG(status)))
            }
            Why::Ended { status, .. } => {
                write!(f, "exited with status {}", crate::reap::exit_code(status))
            }
            Why::OomKill(victim) => write!(f, "{victim} was killed by the out-of-memory killer"),
            Why::Nothing => Ok(()),
        }
    }
}

/// Writes `why` (one line) where `log` says, if the file is there, regular and empty.
/// What kept it from being written is said at debug level, but as a warning when the file
/// was named (`--termination-log`) and is not the application's own message, or when it
/// could not be written (a read-only file system, no permission).
pub fn write(log: &TerminationLog, why: &dyn fmt::Display) {
    let (path, named) = match log {
        TerminationLog::Off => return,
        TerminationLog::Default => (Path::new(DEFAULT_TERMINATION_LOG), false),
        TerminationLog::At(path) => (Path::new(path), true),
    };
    let shown = || crate::error::shown(path.as_os_str().as_bytes());
    let line = format!("{why}\n");
    let (warn, reason) = match write_line(path, line.as_bytes()) {
        Ok(()) => {
            log::debug!("termination message written to {}", shown());
            return;
        }
        Err(Unwritten::Left(NOT_EMPTY)) => (false, NOT_EMPTY.to_string()),
        Err(Unwritten::Left(why)) => (named, why.to_string()),
        Err(Unwritten::Failed(e)) => (true, describe(e)),
    };
    let level = if warn { Level::Warn } else { Level::Debug };
    log::log!(
        level,
        "termination message not written to {}: {reason}",
        shown()
    );
}

/// The application's own message is there.
const NOT_EMPTY: &str = "not empty";

enum Unwritten {
    /// Left alone: why.
    Left(&'static str),
    Failed(Errno),
}

fn write_line(path: &Path, line: &[u8]) -> Result<(), Unwritten> {
    let left = |e| match e {
        Errno::ENOENT => Unwritten::Left("missing"),
        e => Unwritten::Failed(e),
    };
    // Looked at before it is opened: opening a FIFO or a device may block or act.
    check(nix::sys::stat::stat(path).map_err(left)?)?;
    // O_APPEND: should the application write at the same moment, its words stay.
    let flags = OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    let file = nix::fcntl::open(path, flags | OFlag::O_NONBLOCK, Mode::empty()).map_err(left)?;
    check(nix::sys::stat::fstat(&file).map_err(Unwritten::Failed)?)?;
    let mut rest = line;
    while !rest.is_empty() {
        match nix::unistd::write(&file, rest) {
            Ok(0) => return Err(Unwritten::Failed(Errno::EIO)),
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(Unwritten::Failed(e)),
        }
    }
    Ok(())
}

/// A regular file, empty.
fn check(st: nix::sys::stat::FileStat) -> Result<(), Unwritten> {
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        Err(Unwritten::Left("not a regular file"))
    } else if st.st_size != 0 {
        Err(Unwritten::Left(NOT_EMPTY))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_has_its_words() {
        let ended = |status| Why::Ended { status, oom: false };
        assert_eq!(ended(3 << 8).to_string(), "exited with status 3");
        assert_eq!(ended(libc::SIGSEGV | 0x80).to_string(), "killed by SIGSEGV");
        assert_eq!(ended(libc::SIGKILL).to_string(), "killed by SIGKILL");
        let oom = Why::Ended {
            status: libc::SIGKILL,
            oom: true,
        };
        assert_eq!(oom.to_string(), "killed by the out-of-memory killer");
        assert_eq!(
            Why::OomKill(Victim::named(12, "worker")).to_string(),
            "process 12 (worker) was killed by the out-of-memory killer"
        );
    }

    #[test]
    fn only_an_empty_regular_file_is_written() {
        let dir = std::env::temp_dir().join(format!("reaper-termlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("log");
        let at = TerminationLog::At(file.clone().into());
        std::fs::write(&file, "").expect("create");
        write(&at, &"exited with status 3");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "exited with status 3\n"
        );
        write(&at, &"killed by SIGTERM");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "exited with status 3\n",
            "never over what is there"
        );
        std::fs::remove_file(&file).expect("remove");
        write(&at, &"x");
        assert!(!file.exists(), "never created");
        write(&TerminationLog::At(dir.clone().into()), &"x");
        write(&TerminationLog::Off, &"x");
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
