//! The controlling terminal: whether reaper has its foreground, and handing it to the
//! application, back to the shell, and back and forth around Ctrl-Z.
//!
//! The terminal is the controlling one (`/dev/tty`), whichever descriptors are pipes: an
//! app whose stdin is a pipe still reads passwords from `/dev/tty` (ssh, sudo, gpg, git),
//! and in a background group that read would stop it.
//!
//! Inside a PID namespace, process groups made outside it read as 0, so "the terminal's
//! foreground group is reaper's own" cannot always be told from the ids. Then reaper asks
//! the kernel: a zero-length read from the terminal is refused (EIO, as SIGTTIN is
//! blocked) exactly when the caller is in a background group, and reads nothing either way.
//! So a reaper in the background of a shell never takes the terminal from it.
//!
//! Nothing here changes anything unless reaper had the foreground: the terminal is then the
//! job's, and reaper passes it on as a shell would.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::unistd::{Pid, getpgrp, tcgetpgrp, tcsetpgrp};

use crate::error::describe;
use crate::signals;

/// The controlling terminal, when reaper was in its foreground at start.
pub struct Terminal {
    tty: File,
    /// The group that had the foreground (reaper's own), when it is visible from here.
    previous: Option<Pid>,
}

impl Terminal {
    /// The controlling terminal, if reaper has one and is in its foreground group.
    pub fn if_in_foreground() -> Option<Terminal> {
        // std opens it close-on-exec; O_NOCTTY, should it not be ours after all.
        let tty = File::options()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/tty")
            .ok()?;
        let terminal = Terminal {
            previous: tcgetpgrp(&tty).ok().filter(|g| g.as_raw() > 0),
            tty,
        };
        terminal.reaper_in_foreground().then_some(terminal)
    }

    /// Whether reaper's group is the terminal's foreground group.
    fn reaper_in_foreground(&self) -> bool {
        let foreground = tcgetpgrp(&self.tty).ok().filter(|g| g.as_raw() > 0);
        let own = Some(getpgrp()).filter(|g| g.as_raw() > 0);
        match (foreground, own) {
            (Some(foreground), Some(own)) => foreground == own,
            // A group not visible from this PID namespace: ask the kernel. Every signal is
            // blocked, SIGTTIN included, so a background read fails with EIO and stops
            // nobody.
            _ => nix::unistd::read(&self.tty, &mut []).is_ok(),
        }
    }

    /// The descriptor the child makes the app's group the foreground with.
    pub fn raw_fd(&self) -> RawFd {
        self.tty.as_raw_fd()
    }

    /// Gives the foreground back to the group that had it, as a shell does when a job
    /// ends, so that whatever ran reaper can read the terminal again. A group that is not
    /// visible from this PID namespace cannot be named: then the shell that started the
    /// namespace takes the terminal back itself when its job ends (a job-control shell
    /// does; a script that reads the terminal after reaper does not get it back).
    pub fn give_back(&self) {
        if let Some(previous) = self.previous {
            self.hand_to(previous);
        }
    }

    /// Makes `group` the foreground group. reaper keeps SIGTTOU blocked, so this works from
    /// the background too.
    pub fn hand_to(&self, group: Pid) {
        if let Err(e) = tcsetpgrp(self.tty.as_fd(), group) {
            log::debug!(
                "failed to give the terminal to group {group}: {}",
                describe(e)
            );
        }
    }

    /// The app, group `app`, was stopped from the terminal (Ctrl-Z, or a read or write in
    /// the background): stop reaper too, after taking the terminal back, so that the shell
    /// that ran reaper sees its job stopped and gets its terminal back. When the shell
    /// continues reaper (`fg`, `bg`), the app gets the terminal, if it is in the
    /// foreground, and SIGCONT.
    pub fn stop_with_app(&self, app: Pid) {
        if let Some(previous) = self.previous {
            self.hand_to(previous);
        }
        log::debug!("the app was stopped from the terminal: stopping with it");
        let _ = signals::send(nix::unistd::getpid().as_raw(), libc::SIGSTOP);
        // Here again: continued. The app gets the terminal if reaper's job has it (`fg`),
        // not if it was continued in the background (`bg`).
        if self.reaper_in_foreground() {
            self.hand_to(app);
        }
        if let Err(e) = signals::send(-app.as_raw(), libc::SIGCONT) {
            log::debug!("failed to continue the app: {}", describe(e));
        }
    }
}

/// Whether a stop signal is one a terminal raises: the app was stopped by job control, not
/// by someone's SIGSTOP.
pub fn is_terminal_stop(sig: i32) -> bool {
    matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU)
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Terminal(fd {}, previous {:?})",
            self.tty.as_raw_fd(),
            self.previous
        )
    }
}

/// The descriptor the child makes the app's group the foreground with.
impl AsFd for Terminal {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.tty.as_fd()
    }
}
