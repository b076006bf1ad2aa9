//! reaper's exit statuses, in one place: each status, what it means, and its man-page entry.
//!
//! Every place that decides a status takes it from here: `error` (usage errors, failed
//! set-up, exec errors), the child in `spawn` (an exec that failed), `reap` (128 + N),
//! `supervise` and `main`. `--help`'s paragraph is [`HELP`]; the man page's EXIT STATUS
//! section is written from [`TABLE`] by `docgen` (under `cargo test`, so none of the man
//! text is in the release binary).

use nix::errno::Errno;

/// `--pause` ended by SIGTERM or SIGINT; `--help`, `--version`, `--license` or
/// `--explain` printed.
pub const OK: u8 = 0;
/// reaper could not start the command or carry on (fork failed, the user switch or
/// `--workdir` failed, what `--help` prints could not be written); the message says why.
pub const FAILED: u8 = 1;
/// A usage error: a bad option, value, variable or `--user`, a word `--expand-env`
/// cannot expand, or a Landlock restriction that cannot be applied (`sandbox`: fail
/// closed).
pub const USAGE: u8 = 2;
/// The command was found but cannot be executed (or another exec error).
pub const CANNOT_RUN: u8 = 126;
/// The command was not found.
pub const NOT_FOUND: u8 = 127;
/// The command was killed by signal N: this plus N.
pub const KILLED: u8 = 128;
/// `--on-oom exit`, and the out-of-memory killer killed a process: what SIGKILL gives,
/// whatever the app's own status (`-e` does not apply).
pub const OUT_OF_MEMORY: u8 = 137;

/// The status of a failed exec: [`NOT_FOUND`] when not found, [`CANNOT_RUN`] for anything
/// else, the codes shells and Docker use. Allocates nothing: the child uses it between
/// clone and exec.
pub const fn of_exec_error(errno: Errno) -> u8 {
    if matches!(errno, Errno::ENOENT) {
        NOT_FOUND
    } else {
        CANNOT_RUN
    }
}

/// The status of a process killed by signal `signal`, as shells report it: 128 + N.
pub fn killed_by(signal: i32) -> u8 {
    KILLED.saturating_add(u8::try_from(signal).unwrap_or(u8::MAX))
}

/// `--help`'s paragraph on the exit status.
#[cfg(test)]
pub const HELP: &str = "\
Exit status: COMMAND's exit code, or 128+N when signal N killed it; 127 when
COMMAND is not found, 126 when it cannot be run; 2 on a usage error (an unknown
or malformed --user, a Landlock restriction that cannot be applied included); 1
when reaper cannot start COMMAND (the user switch or --workdir failed
included); 0 when --pause ends. With --wait-all: COMMAND's status if it is not
0, else that of the last process to end. With --on-oom exit, 137 once the
out-of-memory killer has killed any process.
";

/// How the man page names a status in its tag.
#[cfg(test)]
pub enum Shown {
    /// One number.
    Is(u8),
    /// This number plus a signal's (`128 + N`).
    Plus(u8),
    /// A rule, in roff (`.I N`: the command's own code).
    Rule(&'static str),
}

/// One entry of the man page's EXIT STATUS: the status and what it means (roff).
#[cfg(test)]
pub struct Row {
    pub status: Shown,
    pub man: &'static str,
}

/// Every exit status, in the man page's order.
#[cfg(test)]
pub const TABLE: &[Row] = &[
    Row {
        status: Shown::Rule(".I N"),
        man: r#".I COMMAND
exited with code
.I N
(0 if
.I N
is remapped with
.BR \-e )."#,
    },
    Row {
        status: Shown::Rule(r"\fIN\fR with \fB\-\-wait\-all\fR"),
        man: r#"The main child's status if it is not 0 (after
.BR \-e );
otherwise the status of the last process to end (its exit code, or 128 + its signal,
after
.BR \-e ),
which is the main child's own if nothing outlived it.
So a service that a launcher started reports whether it ended well:
0 when it exits 0, 143 when SIGTERM killed it, 137 when it needed SIGKILL."#,
    },
    Row {
        status: Shown::Plus(KILLED),
        man: r#".I COMMAND
was killed by signal
.IR N ."#,
    },
    Row {
        status: Shown::Is(OUT_OF_MEMORY),
        man: r#"With
.BR "\-\-on\-oom exit" ,
the kernel's out-of-memory killer killed a process of the container (the application or
any other), and reaper ended the container; the application's own status, and
.BR \-e ,
do not count then."#,
    },
    Row {
        status: Shown::Is(NOT_FOUND),
        man: r#".I COMMAND
was not found (reaper says so on standard error)."#,
    },
    Row {
        status: Shown::Is(CANNOT_RUN),
        man: r#".I COMMAND
was found but cannot be executed, or another exec error (reaper says why), or it is a
script without \fB#!\fR\& and there is no
.BR /bin/sh ."#,
    },
    Row {
        status: Shown::Is(USAGE),
        man: r#"Usage error, including a
.B \-\-user
that names no user or group, a malformed entry, or an id that does not fit, a
malformed
.B \-\-expand\-env
form or a variable it requires that is unset, and a
Landlock restriction that was asked for and cannot be applied (without
.BR \-\-sandbox\-best\-effort )."#,
    },
    Row {
        status: Shown::Is(FAILED),
        man: r#"reaper could not start
.I COMMAND
(for example,
.BR fork (2)
failed, or a step of
.B \-\-user
or
.BR \-\-workdir );
the message names the cause.
Also
.BR \-\-help ,
.B \-\-version
or
.B \-\-license
when what they print cannot be written."#,
    },
    Row {
        status: Shown::Is(OK),
        man: r#".B \-\-pause
ended by SIGTERM or SIGINT; also
.BR \-\-help ,
.B \-\-version
and
.B \-\-explain
(which exits 127 or 126 when
.I COMMAND
cannot be found or run, as its start would)."#,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The `pub const NAME: u8 = N;` lines of this file: every status the code can give.
    fn constants() -> Vec<(String, u8)> {
        include_str!("status.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("pub const ")?.strip_suffix(';'))
            .filter_map(|l| {
                let (name, value) = l.split_once(": u8 = ")?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .collect()
    }

    #[test]
    fn every_status_is_in_the_table_once_and_in_help() {
        let constants = constants();
        assert!(constants.len() >= 6, "too few statuses read: {constants:?}");
        for (name, code) in &constants {
            let rows = TABLE
                .iter()
                .filter(|r| matches!(r.status, Shown::Is(c) | Shown::Plus(c) if c == *code))
                .count();
            assert_eq!(rows, 1, "{name} ({code}) is in the table {rows} times");
            assert!(
                HELP.split(|c: char| !c.is_ascii_digit())
                    .any(|w| w == code.to_string()),
                "--help does not give {name} ({code})"
            );
        }
    }

    #[test]
    fn exec_errors_and_signals() {
        assert_eq!(of_exec_error(Errno::ENOENT), 127);
        assert_eq!(of_exec_error(Errno::EACCES), 126);
        assert_eq!(of_exec_error(Errno::ENOEXEC), 126);
        assert_eq!(killed_by(libc::SIGKILL), 137);
        assert_eq!(killed_by(libc::SIGRTMAX()), 128 + libc::SIGRTMAX() as u8);
        assert_eq!(killed_by(200), 255);
    }
}
