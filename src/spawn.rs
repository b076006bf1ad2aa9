//! Starting the application so that it cannot tell reaper is there.
//!
//! The child gets its own process group (the target of forwarded signals), the controlling
//! terminal's foreground when reaper had it (see `terminal`), and the signal mask reaper inherited; reaper changes no
//! disposition, so the inherited ones (an ignored SIGPIPE, say) pass through untouched.
//! Every descriptor reaper opens is close-on-exec, and it opens none here.
//!
//! The child is created with `clone(CLONE_VM | CLONE_VFORK)`, as posix_spawn does: it runs
//! in reaper's memory while reaper waits, until it has exec'd or exited. So no page table
//! is copied, no pipe is needed to learn of an exec failure (the child writes the errno
//! into reaper's memory), it works even when no descriptor is free, and by the time reaper
//! forwards its first signal the application has been exec'd.
//!
//! With `--user`, the child, and only it, switches before exec: supplementary groups, gid,
//! uid, with raw system calls (credentials belong to each task, so reaper's stay as they
//! were; CLONE_VM shares memory, not credentials), then checks the result and that root
//! cannot be had back; then `--workdir` (no CLONE_FS: reaper's own directory is not
//! moved). A failed step is written into reaper's memory beside the exec errno, and the
//! child exits 1 without running anything. reaper's own ids are read first: when they
//! already are the user's (`docker run --user`), there is nothing to switch, and when only
//! the groups differ, a refused `setgroups` keeps the runtime's rather than fail.
//!
//! A file the kernel refuses as no executable (ENOEXEC) that is not a binary is run as
//! `/bin/sh FILE ARGS...`, execvp's rule, with an argv prepared before the clone.
//!
//! One disposition is not passed through as it is: SIGCHLD, if reaper inherited it
//! ignored (see `signals::take_over`). The child ignores it again before exec.
//!
//! One variable is not passed through as it is: a `LISTEN_PID` naming reaper (socket
//! activation: systemd, `systemd-socket-activate`, podman) names the child instead, which
//! writes its own pid into a buffer prepared for it, so that the application, as
//! sd_listen_fds(3) requires, takes the sockets as its own. Any other value passes
//! unchanged. reaper's copies of the sockets, and of every other descriptor it inherited,
//! are closed once the child has them (`sys::fd::close_inherited`).
//!
//! The child itself, from clone to exec, is `sys::child`.
//!
//! Why not `std::process::Command` (`process_group(0)` and a `pre_exec` restoring the mask,
//! the dispositions and the terminal)? A variant built that way was measured against this
//! one (December 2026, x86_64, 2 cores, `bench/run --measure startup`, five interleaved
//! runs of 300 starts each): start-up 244-372 µs here against 329-526 µs not as PID 1, and
//! slower in 9 of 10 paired runs; VmRSS 360 KiB against 412 KiB; the amd64 release binary
//! 463 KB against 496 KB. With the descriptor limit at 3 or 4 it could not start the app
//! at all (std needs a pipe for exec errors: "failed to fork: No file descriptors
//! available"), where this one still runs it. std also empties the child's mask before
//! `pre_exec`, so every signal is unblocked until `pre_exec` blocks them again, and its
//! errors cannot tell a failed fork from a failed exec. Its one gain: under qemu-user,
//! which turns CLONE_VFORK into a plain fork, it still reports exec failures in words.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::error::{Error, describe};
use crate::signals::Inherited;
use crate::sys::child::{Outcome, Plan, SHELL, Step, Switch};
use crate::terminal::Terminal;
use crate::user::{Current, Identity};

/// Where the command is looked up when `PATH` is unset: Docker's default `PATH`.
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `LISTEN_PID=`, the variable of socket activation.
const LISTEN_PID: &[u8] = b"LISTEN_PID=";

/// Starts `argv` with the signal state reaper inherited. Returns the child's pid, which is
/// also its process group id, and why it could not run, if so. `Err` only when there is no
/// child at all; a command that could not be executed has a child all the same, which has
/// exited 126 or 127 and is reaped like any other: that error is logged here, and returned
/// for the termination message.
pub fn spawn(
    argv: &[OsString],
    inherited: Inherited,
    terminal: Option<&Terminal>,
    user: Option<&Identity>,
    workdir: Option<&OsStr>,
    landlock: Option<(BorrowedFd, bool)>,
) -> Result<(libc::pid_t, Option<String>), Error> {
    let c_args = c_strings(argv.iter().map(OsString::as_os_str))?;
    let c_paths = search_path(argv.first().map(|a| a.as_bytes()).unwrap_or_default())?;
    let c_workdir = c_strings(workdir.into_iter())?.pop();
    let me = user.map(|_| crate::sys::child::current_ids()).transpose()?;
    let switch = user.zip(me.as_ref()).and_then(|(u, me)| switch_to(u, me));
    let envp = with_home(
        crate::sys::child::environment(),
        user.and_then(|u| u.home.as_deref()),
    );
    let envp = point_listen_pid_at_child(envp);
    let plan = Plan {
        candidates: &c_paths,
        argv: &c_args,
        envp: &envp,
        terminal: terminal.map(|t| t.as_fd()),
        mask: inherited.mask(),
        ignore_sigchld: inherited.sigchld_ignored(),
        switch: switch.as_ref(),
        workdir: c_workdir.as_deref(),
        landlock,
    };
    let (pid, outcome) = crate::sys::child::spawn(&plan)?;
    // The child puts itself in its own group; doing it here too, as shells do, makes the
    // group exist when spawn returns even where CLONE_VFORK is emulated by a plain fork
    // (qemu-user), so that a signal forwarded at once cannot miss it. Natively the child
    // has exec'd or exited by now, and this fails harmlessly (EACCES, ESRCH).
    let _ = nix::unistd::setpgid(Pid::from_raw(pid), Pid::from_raw(pid));
    let failed = report(&outcome, argv.first(), pid, user.zip(me.as_ref()), workdir);
    Ok((pid, failed))
}

/// Whom the command runs as (`--user`, looked up in the account files) and its words as
/// it gets them: with `--expand-env` (`expand`), expanded from the environment it gets
/// (`variable`).
pub fn prepare(
    argv: &[OsString],
    user: Option<&OsStr>,
    expand: bool,
) -> Result<(Option<Identity>, Vec<OsString>), Error> {
    let user = user.map(crate::user::lookup).transpose()?;
    let words = if expand {
        let home = user.as_ref().and_then(|u| u.home.as_deref());
        crate::expand::command(argv, &|name| variable(name, home))?
    } else {
        argv.to_vec()
    };
    Ok((user, words))
}

/// Variable `name` as the command gets it: reaper's own, but for a `HOME` unset or empty
/// and a user's home to give it (`with_home`). A `LISTEN_PID` that names reaper is
/// reaper's pid here: the child's own is written only after the clone.
fn variable(name: &str, home: Option<&CStr>) -> Option<OsString> {
    let value = std::env::var_os(name).filter(|v| !v.is_empty());
    match (name, home.and_then(|h| h.to_bytes().strip_prefix(b"HOME="))) {
        ("HOME", Some(home)) if value.is_none() => Some(OsStr::from_bytes(home).to_owned()),
        _ => value.or_else(|| std::env::var_os(name)),
    }
}

/// The file exec would run for `program`, as `--explain` shows it: the first of the
/// candidates (`candidates`) that is a file reaper may execute; else why not, as exec
/// would say it (EACCES when one exists but cannot be run, else ENOENT).
pub fn find(program: &OsStr, workdir: Option<&OsStr>) -> Result<OsString, Errno> {
    let path = std::env::var_os("PATH");
    let mut errno = Errno::ENOENT;
    for candidate in candidates(program.as_bytes(), path.as_deref()) {
        let candidate = in_workdir(candidate, workdir);
        match std::fs::metadata(&candidate) {
            Ok(meta) if meta.is_file() => {
                match nix::unistd::access(candidate.as_os_str(), nix::unistd::AccessFlags::X_OK) {
                    Ok(()) => return Ok(candidate),
                    Err(_) => errno = Errno::EACCES,
                }
            }
            Ok(_) => errno = Errno::EACCES,
            Err(_) => {}
        }
    }
    Err(errno)
}

/// A candidate (`candidates`) as reaper, not the child, must name it: a relative one is
/// relative to `--workdir` (`workdir`), which the child enters before exec.
pub fn in_workdir(candidate: Vec<u8>, workdir: Option<&OsStr>) -> OsString {
    match workdir {
        Some(dir) if !candidate.starts_with(b"/") => {
            OsString::from_vec([dir.as_bytes(), b"/", &candidate].concat())
        }
        _ => OsString::from_vec(candidate),
    }
}

/// The paths to try for `program`, in order, as C strings (see `candidates`).
fn search_path(program: &[u8]) -> Result<Vec<CString>, Error> {
    let path = std::env::var_os("PATH");
    let paths = candidates(program, path.as_deref());
    c_strings(paths.iter().map(|p| OsStr::from_bytes(p)))
}

/// What switching from `me` to `user` takes; `None` when reaper already runs as `user`.
fn switch_to(user: &Identity, me: &Current) -> Option<Switch> {
    if me.has_ids_of(user) && me.has_groups_of(user) {
        log::debug!(
            "reaper already runs as user '{}' ({}): nothing to switch",
            user.spec,
            me.describe()
        );
        return None;
    }
    Some(Switch {
        uid: user.uid,
        gid: user.gid,
        groups: user.groups.clone(),
        groups_may_stay: me.has_ids_of(user),
    })
}

/// Logs how the start of `program` went, as the child left it (`outcome`): started, or the
/// step that failed (an exec error is reaper's `cannot run` line), which it returns.
fn report(
    outcome: &Outcome,
    program: Option<&OsString>,
    pid: libc::pid_t,
    user: Option<(&Identity, &Current)>,
    workdir: Option<&OsStr>,
) -> Option<String> {
    let program = program.map(|p| p.to_string_lossy().into_owned());
    let program = program.unwrap_or_default();
    let errno = outcome.errno;
    if let (true, Some((u, me))) = (outcome.kept_groups, user) {
        log::info!(
            "reaper already runs as user '{}' ({}) and may not set its groups: {:?} kept, not {:?}",
            u.spec,
            me.describe(),
            me.groups,
            u.groups
        );
    }
    if let Some((step, errno)) = outcome.unconfined {
        let call = match step {
            Step::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS)",
            _ => "landlock_restrict_self",
        };
        log::warn!(
            "cannot confine '{program}' with Landlock: {call}: {}; it runs unconfined (--sandbox-best-effort)",
            describe(errno)
        );
    }
    let failed = match outcome.step {
        Step::Exec if errno as i32 == 0 => {
            log::info!("started '{program}' as pid {pid}");
            return None;
        }
        Step::Exec => Error::cannot_run(program, errno).to_string(),
        step => setup_failure(&program, step, errno, user, workdir),
    };
    log::error!("{failed}");
    Some(failed)
}

/// The line for a child that failed before exec: the program, the user, the step and why.
fn setup_failure(
    program: &str,
    step: Step,
    errno: Errno,
    user: Option<(&Identity, &Current)>,
    workdir: Option<&OsStr>,
) -> String {
    let who = user.map_or(String::new(), |(u, _)| {
        format!(" as user '{}' (uid {}, gid {})", u.spec, u.uid, u.gid)
    });
    let step_failed = |what: &str| match (errno, user) {
        // The one reason users meet: reaper is not root (`docker run --user`, a
        // Kubernetes `runAsUser`) and was asked for other ids than its own.
        (Errno::EPERM, Some((_, me))) => format!(
            "reaper runs as {} and may not switch to other ids (failed to set {what}: {})",
            me.describe(),
            describe(errno)
        ),
        _ => format!("failed to set {what}: {}", describe(errno)),
    };
    let why = match step {
        Step::SetGroups => step_failed("the supplementary groups"),
        Step::SetGid => step_failed("the gid"),
        Step::SetUid => step_failed("the uid"),
        Step::CheckIds => "the ids after the switch are not all the new ones".to_string(),
        Step::RegainRoot => "setuid(0) still succeeds after the switch".to_string(),
        Step::Shell => format!(
            "{} (no #!), and {} to run it as a script: {}",
            describe(Errno::ENOEXEC),
            SHELL.to_string_lossy(),
            describe(errno)
        ),
        Step::NoNewPrivs => format!("prctl(PR_SET_NO_NEW_PRIVS): {}", describe(errno)),
        Step::Landlock => format!(
            "cannot confine it with Landlock (landlock_restrict_self): {}",
            describe(errno)
        ),
        Step::Workdir | Step::Exec => format!(
            "cannot change to directory '{}': {}",
            crate::error::shown(workdir.unwrap_or_default().as_bytes()),
            describe(errno)
        ),
    };
    crate::error::one_line(&format!("cannot run '{program}'{who}: {why}"))
}

/// `envp` with `home` (`HOME=...`) added when it has no `HOME`, or an empty one: what
/// gosu and su-exec give a user that has a passwd entry.
fn with_home<'a>(mut envp: Vec<&'a CStr>, home: Option<&'a CStr>) -> Vec<&'a CStr> {
    let Some(home) = home else {
        return envp;
    };
    let set = envp.iter().any(|e| {
        e.to_bytes()
            .strip_prefix(b"HOME=")
            .is_some_and(|v| !v.is_empty())
    });
    if !set {
        envp.retain(|e| e.to_bytes() != b"HOME=");
        envp.push(home);
    }
    envp
}

fn c_strings<'a>(words: impl Iterator<Item = &'a OsStr>) -> Result<Vec<CString>, Error> {
    words
        .map(|w| CString::new(w.as_bytes()))
        .collect::<Result<_, _>>()
        // Unreachable from a real argv or environment, whose words are C strings already.
        .map_err(|_| Error::failed("pass a word with a NUL byte", Errno::EINVAL))
}

/// `envp` with every `LISTEN_PID` entry that names reaper left for the child to complete
/// with its own pid (`None`); any other entry as it is.
fn point_listen_pid_at_child(envp: Vec<&CStr>) -> Vec<Option<&CStr>> {
    let own = nix::unistd::getpid().as_raw().to_string();
    envp.into_iter()
        .map(|e| {
            let names_reaper = e.to_bytes().strip_prefix(LISTEN_PID) == Some(own.as_bytes());
            (!names_reaper).then_some(e)
        })
        .collect()
}

/// The paths exec tries for `program`, as execvp searches: the name itself when it holds
/// a '/', else each `PATH` directory in turn (an empty entry is the working directory).
pub fn candidates(program: &[u8], path: Option<&OsStr>) -> Vec<Vec<u8>> {
    if program.contains(&b'/') || program.is_empty() {
        return vec![program.to_vec()];
    }
    let path = path.map_or(DEFAULT_PATH, |p| p.as_bytes());
    path.split(|&c| c == b':')
        .map(|dir| match dir {
            b"" => program.to_vec(),
            _ => [dir, b"/", program].concat(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search_candidates() {
        let c = |prog: &str, path: Option<&str>| -> Vec<String> {
            candidates(prog.as_bytes(), path.map(OsStr::new))
                .into_iter()
                .map(|p| String::from_utf8(p).unwrap())
                .collect()
        };
        assert_eq!(c("/bin/sh", Some("/x")), ["/bin/sh"]);
        assert_eq!(c("./app", None), ["./app"]);
        assert_eq!(c("a/b", Some("/x")), ["a/b"]);
        assert_eq!(c("sh", Some("/a:/b/c")), ["/a/sh", "/b/c/sh"]);
        assert_eq!(c("sh", Some("/a::/b")), ["/a/sh", "sh", "/b/sh"]);
        assert_eq!(c("sh", Some("")), ["sh"]);
        assert_eq!(c("sh", None)[0], "/usr/local/sbin/sh");
        assert_eq!(c("sh", None).len(), 6);
        assert_eq!(c("", Some("/a")), [""]);
    }

    #[test]
    fn listen_pid_naming_reaper_is_left_for_the_child() {
        let own = CString::new(format!("LISTEN_PID={}", std::process::id())).unwrap();
        let other = c"LISTEN_PID=999999999";
        let fds = c"LISTEN_FDS=2";
        let envp = vec![other, own.as_c_str(), fds];
        assert_eq!(
            point_listen_pid_at_child(envp),
            [Some(other), None, Some(fds)]
        );
        let envp = vec![other, fds];
        assert_eq!(point_listen_pid_at_child(envp), [Some(other), Some(fds)]);
    }
}
