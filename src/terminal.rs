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
//! reaper hands the foreground on only when its own group had it (the terminal is then the
//! job's): to the app as it starts and on `fg`, back to reaper's group when the app stops
//! or ends, and with `--wait-all` when the main child is gone, so that Ctrl-C reaches
//! reaper. It never takes the terminal from anyone else.

use std::cell::Cell;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use nix::unistd::{Pid, getpgid, getpgrp, getppid, getsid, tcgetpgrp, tcsetpgrp};

use crate::error::describe;
use crate::signals;
use crate::signo::SigSet;

/// The controlling terminal, and whether its foreground is the app's, by reaper's doing.
pub struct Terminal {
    tty: File,
    /// reaper's own group, when it is visible from here: where the foreground goes back to.
    own: Option<Pid>,
    /// reaper handed the foreground to the app's group and has not taken it back: the
    /// terminal is the job's, reaper's to pass on as a shell would.
    app_has_it: Cell<bool>,
}

impl Terminal {
    /// The controlling terminal, if reaper has one, whether or not reaper is in its
    /// foreground: started in the background of a shell, reaper still stops with its app
    /// when the app stops for terminal input or output, and gets the foreground on `fg`.
    pub fn controlling() -> Option<Terminal> {
        // std opens it close-on-exec; O_NOCTTY, should it not be ours after all.
        let tty = File::options()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open("/dev/tty")
            .ok()?;
        Some(Terminal {
            tty,
            own: Some(getpgrp()).filter(|g| g.as_raw() > 0),
            app_has_it: Cell::new(false),
        })
    }

    /// For the app to take the foreground as it starts: this terminal if reaper's group is
    /// its foreground group (the terminal is then the job's), else none.
    pub fn for_the_app(&self) -> Option<&Terminal> {
        let foreground = self.reaper_in_foreground();
        self.app_has_it.set(foreground);
        foreground.then_some(self)
    }

    /// For the app's next run (`--restart-signal`): this terminal if the last run had the
    /// foreground by reaper's doing (the terminal is still the job's; inside a PID
    /// namespace reaper could not even name its own group to take it back first), else
    /// as `for_the_app`.
    pub fn for_the_next_run(&self) -> Option<&Terminal> {
        if self.app_has_it.get() {
            return Some(self);
        }
        self.for_the_app()
    }

    /// Whether reaper's group is the terminal's foreground group.
    fn reaper_in_foreground(&self) -> bool {
        let foreground = tcgetpgrp(&self.tty).ok().filter(|g| g.as_raw() > 0);
        match (foreground, self.own) {
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

    /// Takes the foreground back from the app's group to reaper's, if reaper gave it to the
    /// app: as a shell does when a job ends (so that whatever ran reaper can read the
    /// terminal again) or stops, and, with `--wait-all`, once the main child is gone, so
    /// that Ctrl-C reaches reaper and is forwarded to every process left. Never from
    /// anyone else: a reaper continued with `bg` leaves the terminal to the shell. A group
    /// that is not visible from this PID namespace cannot be named: then the shell that
    /// started the namespace takes the terminal back itself when its job ends (a
    /// job-control shell does; a script that reads the terminal after reaper does not get
    /// it back).
    pub fn take_back(&self) {
        if self.app_has_it.replace(false)
            && let Some(own) = self.own
        {
            self.hand_to(own);
        }
    }

    /// Gives the app's group the foreground, which reaper's job has.
    fn give_to_app(&self, app: Pid) {
        self.hand_to(app);
        self.app_has_it.set(true);
    }

    /// Makes `group` the foreground group. reaper keeps SIGTTOU blocked, so this works from
    /// the background too.
    fn hand_to(&self, group: Pid) {
        if let Err(e) = tcsetpgrp(self.tty.as_fd(), group) {
            log::debug!(
                "failed to give the terminal to group {group}: {}",
                describe(e)
            );
        }
    }

    /// Not as PID 1: the app, group `app`, was stopped by `sig` from the terminal. For
    /// terminal input or output while reaper's job has the foreground, the app lost it to
    /// that job's group after reaper gave it (a shell's other process in a pipeline, `echo |
    /// reaper app`, hands the terminal to the job when it starts, which may be after reaper
    /// started the app): the terminal is the job's, so reaper gives it to the app again and
    /// continues it, as the job the shell sees was never stopped. Otherwise reaper stops
    /// with the app.
    pub fn app_stopped(&self, app: Pid, sig: i32) {
        if sig != libc::SIGTSTP && self.reaper_in_foreground() {
            log::debug!(
                "the app was stopped by {} in reaper's foreground: giving it the terminal",
                crate::signo::name(sig)
            );
            self.give_to_app(app);
            continue_group(app);
            return;
        }
        self.stop_with_app(app);
    }

    /// The app, group `app`, was stopped from the terminal (Ctrl-Z, or a read or write in
    /// the background): stop reaper too, after taking the terminal back, so that the shell
    /// that ran reaper sees its job stopped and gets its terminal back. When the shell
    /// continues reaper, the app gets the terminal if reaper's job has it (`fg`, whether
    /// reaper was started in the foreground or not), not if it was continued in the
    /// background (`bg`); then SIGCONT.
    fn stop_with_app(&self, app: Pid) {
        self.take_back();
        stop_self();
        // The SIGCONT that continued reaper (the shell's `fg` or `bg`) is pending, blocked:
        // take it, or the loop would forward it to the app after the one below, and an
        // editor or pager would redraw twice.
        let _ = signals::wait(SigSet::of(libc::SIGCONT), Some(std::time::Duration::ZERO));
        if self.reaper_in_foreground() {
            self.give_to_app(app);
        }
        continue_group(app);
    }

    /// As PID 1: whether the app, group `app`, stopped for terminal input or output
    /// (SIGTTIN, SIGTTOU), can be continued without stopping again at once. It can if its
    /// group has the foreground, or gets it from reaper's (the terminal is then the job's);
    /// not while someone else has the terminal (reaper was started in the background): it
    /// then stays stopped until the shell gives reaper's job the terminal and continues it,
    /// and stops again at once, to be given the terminal then.
    pub fn can_continue(&self, app: Pid) -> bool {
        if tcgetpgrp(&self.tty).ok() == Some(app) {
            return true;
        }
        if !self.reaper_in_foreground() {
            return false;
        }
        self.give_to_app(app);
        true
    }

    /// With `--wait-all`, once the main child is gone, a stop signal from the terminal
    /// (Ctrl-Z) has been forwarded to every process left: stop reaper too, if the terminal
    /// is its own, so that the shell sees the job stopped. When continued, the shell's
    /// SIGCONT is forwarded like any signal.
    pub fn stop_with_the_rest(&self) {
        if self.reaper_in_foreground() {
            stop_self();
        }
    }
}

/// Continues the app's group (SIGCONT), stopped from the terminal as a whole.
fn continue_group(app: Pid) {
    if let Err(e) = signals::send(-app.as_raw(), libc::SIGCONT) {
        log::debug!("failed to continue the app: {}", describe(e));
    }
}

/// Stops reaper (SIGSTOP: the terminal's own stop signals are blocked, to be forwarded);
/// returns when someone continues it.
fn stop_self() {
    log::debug!("stopped from the terminal: stopping reaper too, as the job the shell sees");
    let _ = signals::send(nix::unistd::getpid().as_raw(), libc::SIGSTOP);
}

/// Whether anyone could continue reaper once it stopped itself: whether its process group
/// is not orphaned, as far as reaper's own parent shows. The kernel discards SIGTSTP,
/// SIGTTIN and SIGTTOU for an orphaned group, as no job-control shell is there to continue
/// it, but not SIGSTOP: a reaper in one (`docker exec -it c reaper vim`, `ssh -t host
/// reaper vim`, `(reaper app &)`) that stopped itself would stay stopped, and reap no more,
/// for good. So it stops only when its parent is in its session but another group, as a
/// shell that runs it as a job is. A parent that cannot be seen (outside reaper's PID
/// namespace) or a group that reads as 0 tells nothing: reaper then does not stop. Should
/// the parent die while reaper is stopped, the group becomes orphaned and the kernel
/// itself continues it (SIGHUP, SIGCONT).
pub fn can_be_continued() -> bool {
    let parent = getppid();
    if parent.as_raw() <= 0 {
        return false;
    }
    let own_group = getpgrp();
    match (getsid(None), getsid(Some(parent)), getpgid(Some(parent))) {
        (Ok(own_session), Ok(session), Ok(group)) => {
            session == own_session
                && group.as_raw() > 0
                && own_group.as_raw() > 0
                && group != own_group
        }
        _ => false,
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
            "Terminal(fd {}, own group {:?}, the app's: {})",
            self.tty.as_raw_fd(),
            self.own,
            self.app_has_it.get()
        )
    }
}

/// The descriptor the child makes the app's group the foreground with.
impl AsFd for Terminal {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.tty.as_fd()
    }
}
