//! Command line and environment → [`Config`], or a usage error; `--help` and `--version`.
//!
//! Pure: it reads the environment only through the lookup it is given and touches no
//! process state, so every rule here is unit-tested. Parsing stops at the first
//! non-option, as getopt does with a leading `+`, so `reaper sh -c 'x'` never mistakes
//! `-c` for one of reaper's own options.
//!
//! Every option is one row of `OPTIONS`: its names, its value, what it sets, its help
//! text, its environment variables (reaper's and the peers') and its man-page text.
//! Parsing, the variables, `--help`, and the man page's OPTIONS and ENVIRONMENT (written
//! by `docgen` under `cargo test`) all read that table, so adding an option is adding a
//! row, the `Config` field it sets, and its test. Every environment variable reaper
//! reads is read here, from the table.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use crate::error::{Error, shown};
use crate::signo;

/// What reaper was asked to do.
#[derive(Debug, PartialEq)]
pub enum Request {
    Run(Box<Config>),
    /// `--explain`: say what this configuration would do, and start nothing.
    Explain(Box<Config>),
    Help,
    Version,
    License,
}

#[derive(Debug, PartialEq, Default)]
pub enum Mode {
    /// Run this command (never empty) and exit with its status.
    Command(Vec<OsString>),
    /// No command: reap until SIGTERM or SIGINT. (The default only until `parse` has
    /// seen whether there is a command.)
    #[default]
    Pause,
}

/// What reaper runs and how. Each option sets one field (its row in `OPTIONS`); the
/// default is "nothing given", but for the grace period, which `parse` starts at
/// [`DEFAULT_GRACE_PERIOD`].
#[derive(Debug, PartialEq, Default)]
pub struct Config {
    pub mode: Mode,
    /// Forward signals to the main child only instead of its process group.
    pub single_child: bool,
    pub pdeath_signal: Option<i32>,
    pub remap_exit: ExitCodeSet,
    pub rewrite: Rewrites,
    pub grace_period: Duration,
    pub warn_on_reap: bool,
    /// When the main child exits, go on until no process is left (`--wait-all`).
    pub wait_all: bool,
    pub log_level: LogLevel,
    /// `REAPER_LOG`, an env_logger filter that overrides `log_level`.
    pub log_spec: Option<String>,
    /// Problems with the tini and dumb-init variables: logged once logging is up.
    pub warnings: Vec<String>,
    /// `--user USER[:GROUP]`, as given: looked up (`user::lookup`) just before the start.
    pub user: Option<OsString>,
    /// `--workdir DIR`: where the child goes, as that user, before exec.
    pub workdir: Option<OsString>,
    /// The Landlock options (`--write-allow` and the rest).
    pub confine: crate::sandbox::Confine,
    /// `--expand-env`: `${VAR}` and its kin in the command's words (`expand`).
    pub expand_env: bool,
    /// Every option and variable that set something, in the order read: what `--explain`
    /// shows as each setting's origin.
    pub origins: Vec<Origin>,
    /// What an out-of-memory kill does (`--on-oom`).
    pub on_oom: OnOom,
    /// Where a failed end is explained (`--termination-log`).
    pub termination_log: TerminationLog,
    /// `--stop-delay`: how long the first signal asking to end is held (never zero).
    pub stop_delay: Option<Duration>,
    /// `--restart-signal`: the signal on which the command is ended and started again.
    pub restart_signal: Option<i32>,
}

/// One option or variable that set something: its row in `OPTIONS`, where it came from
/// (`option -t`, `variable REAPER_GRACE_PERIOD`), and its value as given (`on` or `off`
/// for a flag).
#[derive(Debug, PartialEq, Clone)]
pub struct Origin {
    row: usize,
    from: String,
    value: OsString,
}

/// What reaper does when the out-of-memory killer kills a process (`--on-oom`).
#[derive(Debug, PartialEq, Eq, Clone, Copy, Default)]
pub enum OnOom {
    /// Name it in the log and go on.
    #[default]
    Continue,
    /// Name it, then end the container: teardown, exit 137.
    Exit,
}

/// Where reaper writes why the app failed (`--termination-log`).
#[derive(Debug, PartialEq, Eq, Clone, Default)]
pub enum TerminationLog {
    /// `/dev/termination-log`, when it is there (Kubernetes mounts it).
    #[default]
    Default,
    /// A file named with the option or its variable.
    At(OsString),
    /// `none`: nowhere.
    Off,
}

/// The file Kubernetes mounts in every container and shows in `kubectl describe pod`.
pub const DEFAULT_TERMINATION_LOG: &str = "/dev/termination-log";

pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(5);

/// The log level: warnings and errors unless `-v` or a variable says otherwise.
#[derive(Debug, PartialEq, Clone, Copy)]
pub struct LogLevel(pub log::LevelFilter);

impl Default for LogLevel {
    fn default() -> Self {
        LogLevel(log::LevelFilter::Warn)
    }
}

impl PartialEq<log::LevelFilter> for LogLevel {
    fn eq(&self, other: &log::LevelFilter) -> bool {
        self.0 == *other
    }
}

/// The exit codes `--remap-exit` turns into 0.
#[derive(Debug, Default, PartialEq, Clone, Copy)]
pub struct ExitCodeSet([u64; 4]);

impl ExitCodeSet {
    pub fn insert(&mut self, code: u8) {
        self.0[usize::from(code / 64)] |= 1 << (code % 64);
    }

    pub fn contains(&self, code: u8) -> bool {
        self.0[usize::from(code / 64)] & (1 << (code % 64)) != 0
    }
}

/// `--rewrite` as a table: what each signal is forwarded as (0 = dropped).
#[derive(Debug, PartialEq, Clone, Copy)]
pub struct Rewrites([u8; signo::MAX as usize + 1]);

impl Default for Rewrites {
    fn default() -> Self {
        let mut table = [0; signo::MAX as usize + 1];
        for (sig, slot) in table.iter_mut().enumerate() {
            *slot = sig as u8;
        }
        Rewrites(table)
    }
}

impl Rewrites {
    /// The signal to forward in place of `sig`, or `None` when it is dropped.
    pub fn apply(&self, sig: i32) -> Option<i32> {
        match usize::try_from(sig).ok().and_then(|i| self.0.get(i)) {
            Some(0) => None,
            Some(&to) => Some(i32::from(to)),
            None => Some(sig),
        }
    }

    fn set(&mut self, from: i32, to: i32) {
        // Both were range-checked by the caller, so neither index nor value can be out of range.
        if let (Ok(i), Ok(to)) = (usize::try_from(from), u8::try_from(to))
            && let Some(slot) = self.0.get_mut(i)
        {
            *slot = to;
        }
    }
}

/// One option: its names, the name of its value (if it takes one), what it does to the
/// configuration, its help text (lines after the first are continuation lines), the
/// environment variables that set the same thing, and its man-page entry.
struct Opt {
    short: Option<u8>,
    long: Option<&'static str>,
    takes: Takes,
    #[cfg_attr(not(test), allow(dead_code))]
    help: Doc,
    /// It concerns the command (its user, its signals, its status), so it means nothing
    /// with `--pause`, which runs none: given with it, a usage error.
    child: bool,
    vars: &'static [Var],
    /// The man page's text for it, after the tag made from its names (roff).
    #[cfg_attr(not(test), allow(dead_code))]
    man: Doc,
}

enum Takes {
    /// A flag.
    Nothing(fn(&mut Builder)),
    /// A value, shown under this name in `--help`, as given (byte for byte: a path or a
    /// user name need not be UTF-8; a value that must be text says so with `text`).
    Value(
        #[cfg_attr(not(test), allow(dead_code))] Doc,
        fn(&mut Builder, &OsStr) -> Result<(), Error>,
    ),
}

/// An environment variable of reaper's or of a peer's (tini, dumb-init, catatonit) that
/// does what its option does, or something close.
struct Var {
    /// Its name and value as `--help` shows them: `NAME=VALUE`, the value a name in
    /// capitals (`DURATION`) or the one that does something (`1`); a peer's variables that
    /// mean the same are listed together (`A, B`). (One string: each pointer in a table
    /// costs the binary a relocation.)
    shown: &'static str,
    /// The order in which `--help` and the man page list the variables (reaper's own
    /// first, then the peers').
    #[cfg_attr(not(test), allow(dead_code))]
    listed: u8,
    reads: Reads,
    /// Its line in `--help` (a switch's is made from the option's name).
    #[cfg_attr(not(test), allow(dead_code))]
    help: Doc,
    /// The man page's text for it, after its tag (roff; a switch's is made).
    #[cfg_attr(not(test), allow(dead_code))]
    man: Doc,
}

enum Reads {
    /// reaper's on/off variable for a flag, read only when the flag is not given (the
    /// option wins): `1`, `true`, `yes`, `on` do what the flag does, `0`, `false`, `no`,
    /// `off` nothing, anything else is a usage error.
    Switch,
    /// reaper's variable for an option's value, read only when the option is not given,
    /// and taken as that option's value.
    AsOption,
    /// As `AsOption`, with a rule of its own (its own words for a bad value).
    UnlessGiven(fn(&mut Builder, &OsStr) -> Result<(), Error>),
    /// A peer's variable that does what the flag does when its value is the one shown
    /// (`DUMB_INIT_SETSID=0`), whatever the options say.
    FlagIfShown,
    /// A peer's variable that turns debug output on (as `-vv`) when its value is the one
    /// shown (`=1`), or whatever it is (`=ANY`), whatever the options say.
    Debug,
    /// Read whatever the options say, with a rule of its own.
    Always(fn(&mut Builder, &OsStr) -> Result<(), Error>),
    /// Accepted and never read: it has no effect.
    Never,
}

impl Var {
    /// reaper's on/off variable for a flag (see `Reads::Switch`).
    const fn switch(shown: &'static str, listed: u8) -> Var {
        Var {
            shown,
            listed,
            reads: Reads::Switch,
            help: doc(""),
            man: doc(""),
        }
    }
}

/// Text for `--help` and the man page: only test builds keep it, as they write both
/// (`docgen`); in the release binary it is nothing at all.
#[cfg(test)]
type Doc = &'static str;
#[cfg(not(test))]
#[derive(Clone, Copy)]
struct Doc;

#[cfg(test)]
const fn doc(text: &'static str) -> Doc {
    text
}

#[cfg(not(test))]
const fn doc(_: &'static str) -> Doc {
    Doc
}

/// Every option, in the order `--help` lists them.
const OPTIONS: &[Opt] = &[
    Opt {
        short: Some(b'c'),
        long: Some("single-child"),
        takes: Takes::Nothing(|b| b.config.single_child = true),
        help: doc("forward signals to the main child only, not its group"),
        child: true,
        vars: &[Var {
            shown: "DUMB_INIT_SETSID=0",
            listed: 20,
            reads: Reads::FlagIfShown,
            help: doc("as --single-child"),
            man: doc(r#"As
.BR \-\-single\-child ."#),
        }],
        man: doc(r#"Forward signals to the main child only, not to its process group."#),
    },
    Opt {
        short: Some(b'g'),
        long: None,
        takes: Takes::Nothing(|_| {}),
        help: doc("forward signals to the child's process group (default)"),
        child: false,
        vars: &[],
        man: doc(r#"Forward signals to the child's process group.
This is the default; the option is accepted for
.BR tini ."#),
    },
    Opt {
        short: Some(b's'),
        long: Some("subreaper"),
        takes: Takes::Nothing(|_| {}),
        help: doc("accepted for tini; reaper is a subreaper whenever it\nis not PID 1"),
        child: false,
        // tini's variables for -s and -g: both are what reaper does anyway.
        vars: &[Var {
            shown: "TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP",
            listed: 22,
            reads: Reads::Never,
            help: doc("accepted for tini; no effect"),
            man: doc(r#"Accepted for tini; no effect (reaper does both by default)."#),
        }],
        man: doc(r#"Accepted for
.BR tini ;
no effect.
reaper is a child subreaper whenever it is not PID 1."#),
    },
    Opt {
        short: Some(b'p'),
        long: Some("pdeath-signal"),
        takes: Takes::Value(doc("SIG"), |b, v| {
            parse_pdeath_signal(text(v, "--pdeath-signal")?)
                .map(|sig| b.config.pdeath_signal = Some(sig))
        }),
        help: doc("have SIG sent to reaper when its parent dies (and so\nforwarded)"),
        child: false,
        vars: &[],
        man: doc(r#"Have the kernel send
.I SIG
to reaper when reaper's parent dies
.RB ( PR_SET_PDEATHSIG );
reaper forwards it like any other signal.
If the parent is already gone when reaper starts, reaper raises
.I SIG
at once.
.I SIG
must be a signal reaper forwards, or SIGKILL (reaper dies with its parent);
SIGCHLD, SIGSTOP and the synchronous faults are usage errors."#),
    },
    Opt {
        short: Some(b'e'),
        long: Some("remap-exit"),
        takes: Takes::Value(doc("CODE"), |b, v| {
            parse_exit_code(text(v, "--remap-exit")?).map(|code| b.config.remap_exit.insert(code))
        }),
        help: doc("report the main child's exit status CODE as 0\n(repeatable)"),
        child: true,
        vars: &[],
        man: doc(r#"Report the main child's exit status
.I CODE
(0 to 255) as 0.
Applied after 128+N is computed, so
.B \-e 143
makes an application killed by SIGTERM report success.
Repeatable."#),
    },
    Opt {
        short: Some(b'r'),
        long: Some("rewrite"),
        takes: Takes::Value(doc("FROM:TO"), |b, v| {
            parse_rewrite(text(v, "--rewrite")?).map(|(from, to)| b.config.rewrite.set(from, to))
        }),
        help: doc("forward signal FROM as TO; TO=0 drops it (repeatable)"),
        child: true,
        vars: &[],
        man: doc(r#"Forward signal
.I FROM
as
.IR TO ;
.I TO
= 0 drops it (for example
.B \-r TERM:QUIT
for an application that shuts down cleanly on SIGQUIT).
Repeatable.
Signals that are never forwarded (SIGCHLD, SIGKILL, SIGSTOP, the synchronous faults)
cannot be rewritten."#),
    },
    Opt {
        short: Some(b't'),
        long: Some("grace-period"),
        takes: Takes::Value(doc("DURATION"), |b, v| {
            let v = text(v, "--grace-period")?;
            b.config.grace_period = parse_duration(v).ok_or_else(|| {
                Error::usage(format!("invalid duration '{v}' for --grace-period"))
            })?;
            Ok(())
        }),
        help: doc(
            "time between SIGTERM and SIGKILL for what is left when\nthe main child exits (default 5s; 0 kills at once)",
        ),
        child: false,
        vars: &[Var {
            shown: "REAPER_GRACE_PERIOD=DURATION",
            listed: 0,
            reads: Reads::UnlessGiven(|b, v| {
                b.config.grace_period = v.to_str().and_then(parse_duration).ok_or_else(|| {
                    Error::usage(format!(
                        "invalid duration '{}' in REAPER_GRACE_PERIOD",
                        shown(v.as_bytes())
                    ))
                })?;
                Ok(())
            }),
            help: doc("as --grace-period (the option wins)"),
            man: doc(r#"As
.BR \-\-grace\-period ;
the option wins."#),
        }],
        man: doc(
            r#"Time between SIGTERM and SIGKILL for what is left when the main child exits
(default 5s; 0 kills at once)."#,
        ),
    },
    Opt {
        short: Some(b'w'),
        long: Some("warn-on-reap"),
        takes: Takes::Nothing(|b| b.config.warn_on_reap = true),
        help: doc("warn for every reaped process but the main child"),
        child: false,
        vars: &[],
        man: doc(r#"Warn for every reaped process but the main child."#),
    },
    Opt {
        short: None,
        long: Some("wait-all"),
        takes: Takes::Nothing(|b| b.config.wait_all = true),
        help: doc(
            "when the main child exits, go on reaping and forwarding\n(to every process left) until none is left",
        ),
        child: true,
        vars: &[Var::switch("REAPER_WAIT_ALL=1", 4)],
        man: doc(
            r#"When the main child exits, do not tear down: go on reaping, and forwarding signals to
every process left, until none is left (for an application that daemonizes: a launcher
that starts the real service and exits).
As PID 1, a forwarded signal then goes to every process in the namespace
.RB ( kill (2)
with pid \-1); as a subreaper, to reaper's own descendants only.
A forwarded signal that asks to end (SIGTERM, SIGINT, SIGQUIT, after
.BR \-\-rewrite )
is followed by SIGCONT when one of them is stopped; reaper then waits for every process
to end in its own time, and never sends a SIGKILL of its own after a forwarded signal
(the runtime has its own timeout).
"No process left" means no descendant of reaper's: processes that entered the
namespace from outside (a pod's other containers,
.BR "docker exec" )
do not hold reaper, and get the usual teardown.
If a signal asking the application to end was forwarded before the main child exited,
reaper does not wait: it tears down as usual.
On a terminal whose foreground reaper gave to the application, reaper takes it back when
the main child exits, so Ctrl\-C, Ctrl\-\e and Ctrl\-Z reach reaper and are forwarded
to every process left.
Ctrl\-Z then stops them: as PID 1, or when reaper's process group is orphaned (no shell
could continue it), reaper continues them at once, as it does the application; else
reaper stops too.
A usage error with
.BR \-\-pause .
See
.B EXIT STATUS
for the status."#,
        ),
    },
    Opt {
        short: Some(b'P'),
        long: Some("pause"),
        takes: Takes::Nothing(|b| b.pause = true),
        help: doc("run no command: reap until SIGTERM or SIGINT, exit 0"),
        child: false,
        vars: &[],
        man: doc(
            r#"Run no command: reap whatever is reparented to reaper until SIGTERM or SIGINT, then
tear down and exit 0 (catatonit's flag, which podman passes to its pod infra process).
An option about the command
.RB ( \-\-user ", " \-\-workdir ", " \-c ", " \-e ", " \-r ", " \-\-wait\-all ,
.BR \-\-stop\-delay ", " \-\-restart\-signal ", " \-\-expand\-env ,
the Landlock options)
given with it is a usage error (their variables, an image's ENV, are ignored)."#,
        ),
    },
    Opt {
        short: Some(b'v'),
        long: Some("verbose"),
        takes: Takes::Nothing(|b| b.verbose = b.verbose.saturating_add(1)),
        help: doc("more output on stderr (repeat: info, debug, trace)"),
        child: false,
        vars: &[
            Var {
                shown: "REAPER_LOG=SPEC",
                listed: 1,
                reads: Reads::Always(|b, v| {
                    b.config.log_spec = Some(v.to_string_lossy().into_owned());
                    Ok(())
                }),
                help: doc("log filter in env_logger syntax (e.g. debug)"),
                man: doc(r#"Log filter in
.B env_logger
syntax
.RB ( debug ,
.BR reaper::shutdown=debug );
overrides
.BR \-v .
An empty value counts as unset."#),
            },
            Var {
                shown: "TINI_VERBOSITY=N",
                listed: 18,
                reads: Reads::Always(|b, v| {
                    match v.to_str().and_then(|s| s.parse::<u8>().ok()) {
                        Some(n) => b.env_level = Some(level_from_count(n)),
                        None => b.config.warnings.push(crate::error::one_line(&format!(
                            "ignoring TINI_VERBOSITY='{}': not a number from 0 to 255",
                            shown(v.as_bytes())
                        ))),
                    }
                    Ok(())
                }),
                help: doc("0 errors, 1 warnings, 2 info, 3 debug, 4 trace"),
                man: doc(
                    r#"tini's scale: 0 errors only, 1 warnings (the default), 2 info, 3 debug, 4 trace;
each
.B \-v
is a step up from it."#,
                ),
            },
            Var {
                shown: "DUMB_INIT_DEBUG=1",
                listed: 19,
                reads: Reads::Debug,
                help: doc("as -vv"),
                man: doc(r#"As
.BR \-vv ."#),
            },
            Var {
                shown: "CATATONIT_DEBUG=ANY",
                listed: 21,
                // catatonit turns debug output on for any value.
                reads: Reads::Debug,
                help: doc("as -vv"),
                man: doc(r#"As
.BR \-vv ,
whatever the value (as catatonit)."#),
            },
            Var {
                shown: "CATATONIT_LOG",
                listed: 23,
                // catatonit refuses to start with it ("reserved for future use"); it means
                // nothing yet.
                reads: Reads::Always(|b, _| {
                    b.config.warnings.push(
                        "ignoring CATATONIT_LOG: catatonit reserves it and gives it no meaning"
                            .into(),
                    );
                    Ok(())
                }),
                help: doc("reserved by catatonit: ignored with a warning"),
                man: doc(
                    r#"Reserved by catatonit, which refuses to start with it; reaper ignores it with a
warning."#,
                ),
            },
        ],
        man: doc(
            r#"More output on standard error; repeat for more: info (start, exit status, teardown
summary), debug (each signal forwarded, each process reaped), trace."#,
        ),
    },
    Opt {
        short: Some(b'u'),
        long: Some("user"),
        takes: Takes::Value(doc("USER[:GROUP]"), |b, v| {
            b.config.user = Some(v.to_owned());
            Ok(())
        }),
        help: doc(
            "run COMMAND (only) as USER: name or uid, GROUP name or\ngid; groups, gid, then uid switched, and checked",
        ),
        child: true,
        vars: &[Var {
            shown: "REAPER_USER=USER[:GROUP]",
            listed: 2,
            reads: Reads::AsOption,
            help: doc("as --user (the option wins)"),
            man: doc(r#"As
.BR \-\-user ;
the option wins."#),
        }],
        man: doc(r#"Run
.I COMMAND
as
.IR USER ,
a name from the image's
.I /etc/passwd
or a numeric uid, with
.IR GROUP ,
a name from
.I /etc/group
or a numeric gid, as its gid and only group (as gosu and Docker give it).
The files are read as glibc reads them: a missing trailing field is empty.
Only the child switches, in this order: the supplementary groups
.RI ( GROUP
alone when it is given, else those
.BR initgroups (3)
gives: the gid, then every group that lists
.IR USER ),
the gid, the uid; then it checks that its real, effective and saved ids are the new
ones and that
.BR setuid (2)
back to root fails.
If any step fails,
.I COMMAND
is not run: reaper says which step and why, and exits 1.
When reaper's own ids already are the ones asked for
.RB ( "docker run \-\-user" ),
there is nothing to switch: if only the groups differ and reaper may not set them, the
application keeps the ones it has; when the ids differ and reaper may not switch, the
message names both.
An unknown user or group, a malformed entry (looked for by name or by uid), a name
over 255 bytes or an id that does not fit is a usage error, found before anything runs.
.B HOME
is set to the user's home directory when it is unset or empty.
reaper itself keeps its own ids, so that it can still signal and reap everything."#),
    },
    Opt {
        short: None,
        long: Some("workdir"),
        takes: Takes::Value(doc("DIR"), |b, v| {
            b.config.workdir = Some(v.to_owned());
            Ok(())
        }),
        help: doc("run COMMAND in DIR (changed to after --user)"),
        child: true,
        vars: &[Var {
            shown: "REAPER_WORKDIR=DIR",
            listed: 3,
            reads: Reads::AsOption,
            help: doc("as --workdir (the option wins)"),
            man: doc(r#"As
.BR \-\-workdir ;
the option wins."#),
        }],
        man: doc(r#"Run
.I COMMAND
in
.IR DIR ,
entered after the switch of
.BR \-\-user ,
with the user's permissions; if it cannot be entered,
.I COMMAND
is not run and reaper exits 1."#),
    },
    Opt {
        short: None,
        long: Some("write-allow"),
        takes: Takes::Value(doc("PATH"), |b, v| {
            b.config.confine.write.push(v.to_owned());
            Ok(())
        }),
        help: doc(
            "Landlock: COMMAND may write, create and remove only\nbeneath PATH (repeatable); /dev stays writable",
        ),
        child: true,
        vars: &[Var {
            shown: "REAPER_WRITE_ALLOW=PATH[:PATH...]",
            listed: 5,
            reads: Reads::UnlessGiven(|b, v| {
                b.config.confine.write.extend(paths(v));
                Ok(())
            }),
            help: doc("as --write-allow, paths split on ':'"),
            man: doc(r#"As
.BR \-\-write\-allow ,
one path or several separated by colons; the options win."#),
        }],
        man: doc(r#"Confine
.I COMMAND
and everything it starts with Landlock (Linux 5.13) so that it may write to files,
create, remove, rename and link them only beneath
.IR PATH .
Repeatable.
.I /dev
stays writable (unless
.BR \-\-write\-no\-dev );
.I /tmp
only if it is listed.
Reading is not restricted, nor are descriptors the application inherited.
The child sets
.B no_new_privs
to apply the ruleset, so setuid programs it runs gain no privilege.
See
.B SANDBOX
in doc/security.md for what this stops and what it does not."#),
    },
    Opt {
        short: None,
        long: Some("write-no-dev"),
        takes: Takes::Nothing(|b| b.config.confine.write_no_dev = true),
        help: doc("with --write-allow, /dev is not writable either"),
        child: true,
        vars: &[Var::switch("REAPER_WRITE_NO_DEV=1", 6)],
        man: doc(r#"With
.BR \-\-write\-allow ,
.I /dev
is not writable either (not even
.IR /dev/null );
alone, the application may write nowhere."#),
    },
    Opt {
        short: None,
        long: Some("exec-allow"),
        takes: Takes::Value(doc("PATH"), |b, v| {
            b.config.confine.exec.push(v.to_owned());
            Ok(())
        }),
        help: doc(
            "Landlock: COMMAND may execute only files beneath PATH\n(repeatable; COMMAND itself is checked first)",
        ),
        child: true,
        vars: &[Var {
            shown: "REAPER_EXEC_ALLOW=PATH[:PATH...]",
            listed: 7,
            reads: Reads::UnlessGiven(|b, v| {
                b.config.confine.exec.extend(paths(v));
                Ok(())
            }),
            help: doc("as --exec-allow, paths split on ':'"),
            man: doc(r#"As
.BR \-\-exec\-allow ,
one path or several separated by colons; the options win."#),
        }],
        man: doc(r#"Confine
.I COMMAND
and everything it starts so that they may execute only files beneath
.I PATH
(Landlock).
Repeatable.
The program exec runs for
.I COMMAND
is checked before anything starts: if it is not beneath a listed path, reaper exits 2.
A dynamically linked program also needs its loader's directory listed
.RI ( /lib ,
.IR /lib64 ),
and a script its interpreter's."#),
    },
    Opt {
        short: None,
        long: Some("bind-tcp-allow"),
        takes: Takes::Value(doc("PORT"), |b, v| {
            let port = parse_port(text(v, "--bind-tcp-allow")?, "--bind-tcp-allow")?;
            b.config.confine.bind.push(port);
            Ok(())
        }),
        help: doc("Landlock: COMMAND may bind TCP sockets only to PORT\n(repeatable; Linux 6.7)"),
        child: true,
        vars: &[Var {
            shown: "REAPER_BIND_TCP_ALLOW=PORT[,PORT...]",
            listed: 8,
            reads: Reads::UnlessGiven(|b, v| {
                b.config
                    .confine
                    .bind
                    .extend(ports(v, "REAPER_BIND_TCP_ALLOW")?);
                Ok(())
            }),
            help: doc("as --bind-tcp-allow, ports split on ','"),
            man: doc(r#"As
.BR \-\-bind\-tcp\-allow ,
one port or several separated by commas; the options win."#),
        }],
        man: doc(r#"Confine
.I COMMAND
and everything it starts so that they may bind TCP sockets only to
.I PORT
(0 to 65535; Landlock ABI 4, Linux 6.7).
Repeatable."#),
    },
    Opt {
        short: None,
        long: Some("connect-tcp-allow"),
        takes: Takes::Value(doc("PORT"), |b, v| {
            let port = parse_port(text(v, "--connect-tcp-allow")?, "--connect-tcp-allow")?;
            b.config.confine.connect.push(port);
            Ok(())
        }),
        help: doc(
            "Landlock: COMMAND may connect TCP sockets only to PORT\n(repeatable; Linux 6.7)",
        ),
        child: true,
        vars: &[Var {
            shown: "REAPER_CONNECT_TCP_ALLOW=PORT[,PORT...]",
            listed: 9,
            reads: Reads::UnlessGiven(|b, v| {
                b.config
                    .confine
                    .connect
                    .extend(ports(v, "REAPER_CONNECT_TCP_ALLOW")?);
                Ok(())
            }),
            help: doc("as --connect-tcp-allow, ports split on ','"),
            man: doc(r#"As
.BR \-\-connect\-tcp\-allow ,
one port or several separated by commas; the options win."#),
        }],
        man: doc(r#"Confine
.I COMMAND
and everything it starts so that they may connect TCP sockets only to
.I PORT
on any host (Landlock ABI 4, Linux 6.7).
Repeatable."#),
    },
    Opt {
        short: None,
        long: Some("scope-signals"),
        takes: Takes::Nothing(|b| b.config.confine.scope_signals = true),
        help: doc(
            "Landlock: COMMAND may signal no process outside its\nsandbox (reaper's signals still reach it; Linux 6.12)",
        ),
        child: true,
        vars: &[Var::switch("REAPER_SCOPE_SIGNALS=1", 10)],
        man: doc(r#"Confine
.I COMMAND
and everything it starts so that they may send signals only to each other, not to
reaper, its parent or any other process (Landlock ABI 6, Linux 6.12).
reaper stays outside the sandbox, so the signals it forwards, and its teardown, still
reach them."#),
    },
    Opt {
        short: None,
        long: Some("scope-abstract-unix"),
        takes: Takes::Nothing(|b| b.config.confine.scope_abstract_unix = true),
        help: doc(
            "Landlock: COMMAND may connect to no abstract unix\nsocket made outside its sandbox (Linux 6.12)",
        ),
        child: true,
        vars: &[Var::switch("REAPER_SCOPE_ABSTRACT_UNIX=1", 11)],
        man: doc(r#"Confine
.I COMMAND
and everything it starts so that they may connect or send only to abstract unix
sockets made inside the sandbox (Landlock ABI 6, Linux 6.12)."#),
    },
    Opt {
        short: None,
        long: Some("sandbox-best-effort"),
        takes: Takes::Nothing(|b| b.config.confine.best_effort = true),
        help: doc(
            "apply what the Landlock options can, warn about the\nrest (without it: refuse to start, status 2)",
        ),
        child: true,
        vars: &[Var::switch("REAPER_SANDBOX_BEST_EFFORT=1", 12)],
        man: doc(
            r#"Without it, a Landlock restriction that was asked for and cannot be applied (no
Landlock in the kernel, an older ABI than an option needs, a seccomp profile that
refuses the calls, a path that cannot be opened) stops reaper before anything runs,
with one line naming the option and the reason, and status 2.
With it, each of those is a warning and the restriction is left out."#,
        ),
    },
    Opt {
        short: None,
        long: Some("expand-env"),
        takes: Takes::Nothing(|b| b.config.expand_env = true),
        help: doc(
            "expand ${VAR}, ${VAR:-default}, ${VAR:?message} and $$\nin COMMAND and its arguments (not a shell)",
        ),
        child: true,
        vars: &[Var::switch("REAPER_EXPAND_ENV=1", 13)],
        man: doc(r#"Expand environment variables in
.I COMMAND
and each
.IR ARG ,
from the environment the command gets (with
.BR \-\-user ,
.B HOME
as the command gets it), for an image whose exec\-form
.B ENTRYPOINT
or Kubernetes
.B args
has no shell to do it:
.RS
.IP "\fB${\fIVAR\fB}\fR" 4
the value of
.IR VAR ;
empty when it is unset;
.IP "\fB${\fIVAR\fB:\-\fIdefault\fB}\fR" 4
.I default
when
.I VAR
is unset or empty (it may hold the forms of this list itself);
.IP "\fB${\fIVAR\fB:?\fImessage\fB}\fR" 4
.I VAR
is required: when it is unset or empty, reaper prints
.RI \(lq VAR ": " message \(rq
and exits 2 without starting anything;
.IP "\fB$$\fR" 4
a literal
.BR $ .
.RE
.IP
Not a shell: a word stays one word, whatever the value holds (no splitting, no globbing,
no quotes, no commands), bytes that are not UTF\-8 pass through, and a value is not
expanded again.
.B $VAR
without braces, and a
.B $
before anything else, are left as they are.
Any other use of
.B ${
is a usage error (status 2) rather than text: an unterminated
.BR ${ ,
an empty or malformed name
.RB ( ${} ", " ${1x} ),
and the shell's other forms
.RB ( ${VAR\-x} ", " ${VAR:=x} ", " ${VAR:+x} ", " ${#VAR} ).
A
.B }
cannot appear in a default or a message.
The words are expanded before the command starts, after the
.B \-\-user
lookup."#),
    },
    Opt {
        short: None,
        long: Some("explain"),
        takes: Takes::Nothing(|b| b.explain = true),
        help: doc(
            "print what reaper would do, one 'key: value' a line,\nand exit without starting anything",
        ),
        child: false,
        vars: &[],
        man: doc(r#"Print what reaper would do, one
.RI \(lq key ": " value \(rq
a line, and exit without starting anything: the command after
.B \-\-expand\-env
.RB ( command ),
the file a PATH search finds for it
.RB ( program ),
the ids, groups and directory it would run with
.RB ( uid ", " gid ", " groups ", " directory ),
where signals go
.RB ( signals ),
with a Landlock option, the Landlock ABI the kernel serves
.RB ( landlock ),
whether reaper is PID 1 or a subreaper
.RB ( init ),
the log level, then every option's value and where it came from, as
.RI \(lq name ": " value " (option " \-x )\(rq,
.RI \(lq "(variable " NAME )\(rq
or
.RB \(lq (default) \(rq,
and any warning.
A bad option, variable or expansion is the usual usage error (status 2), and so is a
Landlock restriction that the start could not apply (checked as the start checks it);
with
.BR \-\-sandbox\-best\-effort ,
each one left out is a warning line.
When the command cannot be found or is not executable, the
.B program
line says why, and reaper exits 127 or 126 as it would when starting it (the check uses
reaper's own permissions, not those of
.BR \-\-user ).
Nothing is started, no signal is handled, and reaper does not become a subreaper."#),
    },
    Opt {
        short: None,
        long: Some("on-oom"),
        takes: Takes::Value(doc("continue|exit"), |b, v| {
            b.config.on_oom = parse_on_oom(v, "for --on-oom")?;
            Ok(())
        }),
        help: doc(
            "when the out-of-memory killer kills a process: name\nit and go on (default continue) or end the container\ntoo (exit: teardown, status 137)",
        ),
        child: false,
        vars: &[Var {
            shown: "REAPER_ON_OOM=continue|exit",
            listed: 14,
            reads: Reads::UnlessGiven(|b, v| {
                b.config.on_oom = parse_on_oom(v, "in REAPER_ON_OOM")?;
                Ok(())
            }),
            help: doc("as --on-oom (the option wins)"),
            man: doc(r#"As
.BR \-\-on\-oom ;
the option wins."#),
        }],
        man: doc(
            r#"What reaper does when the kernel's out-of-memory killer kills a process of the
container.
Whatever the policy, reaper names it, as a warning:
.RB \(lq "process \fIN\fB (\fICOMM\fB) was killed by the out\-of\-memory killer" \(rq.
It tells from the out-of-memory kill count of its own memory cgroup (found in
.I /proc/self/cgroup
at start, counted from before the application starts:
.B oom_kill
in
.I memory.events
with cgroup v2,
.I memory.oom_control
with v1), read only when a process it reaps died of SIGKILL: no polling.
When that count cannot be read, reaper says so once at debug level and carries on (a
warning with
.BR exit ).
.B continue
(the default): nothing more; the application killed that way exits 137, as any process
killed by SIGKILL.
.BR exit :
the out-of-memory kill of any process reaper reaps (the application, or an orphan
reparented to reaper; not a worker that its own parent reaps, whose death reaper never
sees) ends the container: the usual teardown (SIGTERM to everything, the application's group included,
the grace period, SIGKILL) and exit status 137, so that the orchestrator restarts a
container that would otherwise run on without the worker.
A kill during the teardown changes nothing."#,
        ),
    },
    Opt {
        short: None,
        long: Some("termination-log"),
        takes: Takes::Value(doc("PATH"), |b, v| {
            b.config.termination_log = parse_termination_log(v, "for --termination-log")?;
            Ok(())
        }),
        help: doc(
            "when COMMAND fails, say why in PATH if it is an empty\nfile (default /dev/termination-log; none: nowhere)",
        ),
        // Not the command's alone: `--pause --on-oom exit` writes there too.
        child: false,
        vars: &[Var {
            shown: "REAPER_TERMINATION_LOG=PATH",
            listed: 15,
            reads: Reads::UnlessGiven(|b, v| {
                b.config.termination_log = parse_termination_log(v, "in REAPER_TERMINATION_LOG")?;
                Ok(())
            }),
            help: doc("as --termination-log (the option wins)"),
            man: doc(r#"As
.BR \-\-termination\-log ;
the option wins."#),
        }],
        man: doc(
            r#"When the application ends in failure (a non-zero status after
.BR \-e ,
a signal, an out-of-memory kill, or a command that cannot be started), and
.I PATH
is a regular file that is still empty, reaper writes one line there saying why:
.RB \(lq "exited with status 3" \(rq,
.RB \(lq "killed by SIGSEGV" \(rq,
.RB \(lq "killed by the out\-of\-memory killer" \(rq,
.RB \(lq "cannot run 'x': No such file or directory" \(rq,
or, when
.B \-\-on\-oom exit
ended the container,
.RB \(lq "process \fIN\fB (\fICOMM\fB) was killed by the out\-of\-memory killer" \(rq.
Kubernetes mounts
.I /dev/termination\-log
(the default) in every container and shows what it holds as the container's last
state in
.BR "kubectl describe pod" .
reaper never creates the file and never overwrites what the application wrote there.
.B none
turns it off.
With
.BR \-\-pause ,
only an out-of-memory kill that
.B \-\-on\-oom exit
ends the pod on is written there.
Writing it never changes the exit status: a file that is missing, not a regular file
or not empty is left alone (said at debug level, or as a warning when
.I PATH
was given); one that cannot be written (a read-only file system, no permission) is a
warning."#,
        ),
    },
    Opt {
        short: None,
        long: Some("stop-delay"),
        takes: Takes::Value(doc("DURATION"), |b, v| {
            let v = text(v, "--stop-delay")?;
            set_stop_delay(b, v, || format!("invalid duration '{v}' for --stop-delay"))
        }),
        help: doc(
            "hold the first signal asking to end DURATION before\nforwarding it; a second one goes at once",
        ),
        child: true,
        vars: &[Var {
            shown: "REAPER_STOP_DELAY=DURATION",
            listed: 16,
            reads: Reads::UnlessGiven(|b, v| {
                let bad = || {
                    format!(
                        "invalid duration '{}' in REAPER_STOP_DELAY",
                        shown(v.as_bytes())
                    )
                };
                set_stop_delay(b, v.to_str().ok_or_else(|| Error::usage(bad()))?, bad)
            }),
            help: doc("as --stop-delay (the option wins)"),
            man: doc(r#"As
.BR \-\-stop\-delay ;
the option wins."#),
        }],
        man: doc(
            r#"On the first signal that asks the application to end (SIGTERM, SIGINT, SIGQUIT,
after
.BR \-\-rewrite ),
wait
.I DURATION
before forwarding it, while the application keeps serving: a load balancer has the time
to take the container out of rotation
.RB ( "docker stop" ,
a Kubernetes pod deleted, an ECS task stopped).
Other signals are forwarded at once meanwhile, and children are reaped; a second signal
that asks to end is forwarded at once, in place of the one held.
If the application exits during the delay, the delay ends with it.
The delay counts against the runtime's own timeout
.RB ( "docker stop \-t" ,
Kubernetes'
.BR terminationGracePeriodSeconds ),
which must leave the application time to shut down after it.
0 is no delay."#,
        ),
    },
    Opt {
        short: None,
        long: Some("restart-signal"),
        takes: Takes::Value(doc("SIG"), |b, v| {
            let v = text(v, "--restart-signal")?;
            b.config.restart_signal = Some(parse_restart_signal(v, "--restart-signal")?);
            Ok(())
        }),
        help: doc(
            "on SIG, end the app's group (SIGTERM, grace period,\nSIGKILL) and start COMMAND again",
        ),
        child: true,
        vars: &[Var {
            shown: "REAPER_RESTART_SIGNAL=SIG",
            listed: 17,
            reads: Reads::UnlessGiven(|b, v| {
                let v = v.to_str().ok_or_else(|| {
                    Error::usage(format!(
                        "invalid signal '{}' in REAPER_RESTART_SIGNAL",
                        shown(v.as_bytes())
                    ))
                })?;
                b.config.restart_signal = Some(parse_restart_signal(v, "REAPER_RESTART_SIGNAL")?);
                Ok(())
            }),
            help: doc("as --restart-signal (the option wins)"),
            man: doc(r#"As
.BR \-\-restart\-signal ;
the option wins."#),
        }],
        man: doc(r#"On
.I SIG
(not forwarded), end the application's process group as the teardown would:
SIGTERM and SIGCONT, then up to the grace period
.RB ( \-t )
for the group to be gone, then SIGKILL; then start
.I COMMAND
again, with the same arguments, environment, user, directory and terminal
(so reaper stays in the directory it started in, where it otherwise moves to /).
The container stays up; reaper's exit status is that of the last run.
Processes of the old run that left its process group are not ended: they are reaped
as usual.
.I SIG
during a restart is ignored; a signal that asks to end ends the restart: the new run
is not started and reaper exits with the old run's status.
A restart happens only on
.IR SIG :
an application that exits or crashes still ends reaper, as the orchestrator must see.
The signals that ask to end, SIGKILL, SIGSTOP, SIGCHLD and the synchronous faults
are usage errors."#),
    },
    Opt {
        short: Some(b'h'),
        long: Some("help"),
        takes: Takes::Nothing(|b| b.done = Some(Request::Help)),
        help: doc("print this help"),
        child: false,
        vars: &[],
        man: doc(r#"Print the help and exit 0."#),
    },
    Opt {
        short: Some(b'V'),
        long: Some("version"),
        takes: Takes::Nothing(|b| b.done = Some(Request::Version)),
        help: doc("print the version"),
        child: false,
        vars: &[],
        man: doc(r#"Print the version and exit 0, as
.RB \(lq "reaper version \fIX.Y.Z\fB \- git.\fISHA\fR" \(rq,
the form that
.B docker info
parses."#),
    },
    Opt {
        short: Some(b'l'),
        long: Some("license"),
        takes: Takes::Nothing(|b| b.done = Some(Request::License)),
        help: doc("print the licence (tini's -l)"),
        child: false,
        vars: &[],
        man: doc(r#"Print the licence (MIT OR Apache\-2.0) and exit 0, as
.BR tini 's
.B \-l
does."#),
    },
    Opt {
        short: Some(b'L'),
        long: None,
        takes: Takes::Nothing(|b| b.done = Some(Request::License)),
        help: doc("print the licence (catatonit's -L)"),
        child: false,
        vars: &[],
        man: doc(r#"As
.BR \-l :
.BR catatonit 's
spelling."#),
    },
];

// Which options were given is a bit each (`Builder::given`).
const _: () = assert!(OPTIONS.len() <= 64);

/// Turns argv (without argv[0]) and the environment into a request.
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Result<Request, Error> {
    let mut b = Builder::new();
    let mut rest = args.iter();
    let mut command = Vec::new();
    while let Some(arg) = rest.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            break;
        } else if let Some(long) = bytes.strip_prefix(b"--") {
            long_option(&mut b, arg, long, &mut rest)?;
        } else if bytes.len() > 1 && bytes[0] == b'-' {
            short_options(&mut b, bytes, &mut rest)?;
        } else {
            command.push(arg.clone());
            break;
        }
        if let Some(request) = b.done.take() {
            return Ok(request);
        }
    }
    command.extend(rest.cloned());
    // After the options, so that an option wins over its variable without the variable
    // being read at all (a bad REAPER_GRACE_PERIOD does not matter with -t). An empty
    // variable is an unset one: compose files write `VAR=` for "not set".
    apply_environment(&mut b, &|k: &str| env(k).filter(|v| !v.is_empty()))?;
    let explain = b.explain;
    let config = Box::new(b.finish(command)?);
    Ok(if explain {
        Request::Explain(config)
    } else {
        Request::Run(config)
    })
}

/// `--name` or `--name=value` (`long`: `arg` without its dashes).
fn long_option<'a>(
    b: &mut Builder,
    arg: &OsString,
    long: &'a [u8],
    rest: &mut std::slice::Iter<'a, OsString>,
) -> Result<(), Error> {
    let (name, inline) = match long.iter().position(|&c| c == b'=') {
        Some(eq) => (&long[..eq], Some(OsStr::from_bytes(&long[eq + 1..]))),
        None => (long, None),
    };
    let (index, long) = OPTIONS
        .iter()
        .enumerate()
        .find_map(|(i, o)| o.long.filter(|l| l.as_bytes() == name).map(|l| (i, l)))
        .ok_or_else(|| Error::usage(format!("unknown option '{}'", shown(arg.as_bytes()))))?;
    let value = match (&OPTIONS[index].takes, inline) {
        (Takes::Value(..), Some(v)) => Some(v),
        (Takes::Value(..), None) => Some(next_value(rest, &format!("--{long}"))?),
        (Takes::Nothing(_), Some(_)) => {
            return Err(Error::usage(format!("option '--{long}' takes no value")));
        }
        (Takes::Nothing(_), None) => None,
    };
    b.apply(index, value, || format!("--{long}"))
}

/// A cluster of short options, getopt style: `-vvv`, `-cv`, `-t5`, `-t 5`.
fn short_options<'a>(
    b: &mut Builder,
    bytes: &'a [u8],
    rest: &mut std::slice::Iter<'a, OsString>,
) -> Result<(), Error> {
    let mut i = 1;
    while i < bytes.len() && b.done.is_none() {
        let c = bytes[i];
        let index = OPTIONS
            .iter()
            .position(|o| o.short == Some(c))
            .ok_or_else(|| Error::usage(format!("unknown option '-{}'", shown(&[c]))))?;
        i += 1;
        let value = if matches!(OPTIONS[index].takes, Takes::Nothing(_)) {
            None
        } else if i < bytes.len() {
            let v = OsStr::from_bytes(&bytes[i..]);
            i = bytes.len();
            Some(v)
        } else {
            Some(next_value(rest, &format!("-{}", c as char))?)
        };
        b.apply(index, value, || format!("-{}", c as char))?;
    }
    Ok(())
}

fn next_value<'a>(
    rest: &mut std::slice::Iter<'a, OsString>,
    option: &str,
) -> Result<&'a OsStr, Error> {
    rest.next()
        .map(OsString::as_os_str)
        .ok_or_else(|| Error::usage(format!("option '{option}' needs a value")))
}

/// The configuration as the options and then the variables make it.
#[derive(Default)]
struct Builder {
    /// What the options set; `mode` and `log_level` are decided at the end (`finish`).
    config: Config,
    pause: bool,
    verbose: u8,
    /// The level the tini, dumb-init and catatonit variables ask for.
    env_level: Option<log::LevelFilter>,
    /// The options given, a bit each by their place in `OPTIONS`: reaper's variable for
    /// an option given is not read (the option wins).
    given: u64,
    /// The first option given that concerns the command, as spelt: refused with `--pause`.
    child_option: Option<String>,
    /// Set by an option that ends parsing (`--help`, `--version`).
    done: Option<Request>,
    /// `--explain`: the configuration is only to be shown.
    explain: bool,
}

impl Builder {
    fn new() -> Builder {
        let mut b = Builder::default();
        b.config.grace_period = DEFAULT_GRACE_PERIOD;
        b
    }

    /// Applies `OPTIONS[index]`, given as `spelt`.
    fn apply(
        &mut self,
        index: usize,
        value: Option<&OsStr>,
        spelt: impl FnOnce() -> String,
    ) -> Result<(), Error> {
        let opt = &OPTIONS[index];
        self.given |= 1 << index;
        let spelt = spelt();
        let shown_value = value.map_or_else(|| "on".into(), OsStr::to_owned);
        self.note(index, format!("option {spelt}"), shown_value);
        if opt.child && self.child_option.is_none() {
            self.child_option = Some(spelt);
        }
        match opt.takes {
            Takes::Nothing(set) => {
                set(self);
                Ok(())
            }
            Takes::Value(_, set) => set(self, value.unwrap_or_default()),
        }
    }

    /// Notes, for `--explain`, that `OPTIONS[row]` was set `from` somewhere to `value`.
    fn note(&mut self, row: usize, from: String, value: OsString) {
        self.config.origins.push(Origin { row, from, value });
    }

    fn given(&self, index: usize) -> bool {
        self.given & (1 << index) != 0
    }

    fn finish(self, command: Vec<OsString>) -> Result<Config, Error> {
        let mode = match (self.pause, command.is_empty()) {
            (true, true) => Mode::Pause,
            (true, false) => {
                return Err(Error::usage(format!(
                    "--pause takes no command, but got '{}'",
                    shown(command[0].as_bytes())
                )));
            }
            (false, true) => return Err(Error::usage("no command given")),
            (false, false) => Mode::Command(command),
        };
        if let (Mode::Pause, Some(option)) = (&mode, &self.child_option) {
            return Err(Error::usage(format!(
                "option '{option}' concerns the command, and --pause runs none"
            )));
        }
        // Each -v is a step up from the default, warnings, or from the level the tini and
        // dumb-init variables set (TINI_VERBOSITY=0 alone means errors only).
        let base = self.env_level.unwrap_or(log::LevelFilter::Warn);
        let log_level = match self.verbose {
            0 => base,
            n => base.max(level_from_count(n.saturating_add(1))),
        };
        Ok(Config {
            mode,
            log_level: LogLevel(log_level),
            ..self.config
        })
    }
}

/// The value of an option that must be text (a signal, a duration, a number), or a usage
/// error that shows its bytes.
/// A TCP port, 0 to 65535.
fn parse_port(v: &str, option: &str) -> Result<u16, Error> {
    v.parse()
        .map_err(|_| Error::usage(format!("invalid port '{v}' for {option}: 0 to 65535")))
}

/// A list of paths separated by ':' (empty parts skipped), as `PATH` is written.
fn paths(v: &OsStr) -> impl Iterator<Item = OsString> + '_ {
    v.as_bytes()
        .split(|&c| c == b':')
        .filter(|p| !p.is_empty())
        .map(|p| OsStr::from_bytes(p).to_owned())
}

/// A list of ports separated by ','.
fn ports(v: &OsStr, var: &str) -> Result<Vec<u16>, Error> {
    let bad = || Error::usage(format!("invalid ports '{}' in {var}", shown(v.as_bytes())));
    let v = v.to_str().ok_or_else(bad)?;
    v.split(',')
        .map(|p| p.trim().parse().map_err(|_| bad()))
        .collect()
}

fn text<'a>(value: &'a OsStr, option: &str) -> Result<&'a str, Error> {
    value.to_str().ok_or_else(|| {
        Error::usage(format!(
            "invalid value '{}' for {option}: not UTF-8 text",
            shown(value.as_bytes())
        ))
    })
}

/// A signal for `--pdeath-signal`: one reaper forwards, or SIGKILL (which tini users pass,
/// to have reaper die with its parent). SIGCHLD would be swallowed, SIGSTOP would stop
/// reaper, and the faults, never blocked, would kill it.
fn parse_pdeath_signal(value: &str) -> Result<i32, Error> {
    let sig = signo::parse(value)
        .filter(|&s| s != 0)
        .ok_or_else(|| Error::usage(format!("unknown signal '{value}' for --pdeath-signal")))?;
    if !signo::is_forwarded(sig) && sig != libc::SIGKILL {
        return Err(Error::usage(format!(
            "signal '{value}' cannot be the parent-death signal: reaper never forwards it"
        )));
    }
    Ok(sig)
}

fn parse_on_oom(value: &OsStr, place: &str) -> Result<OnOom, Error> {
    match value.as_bytes() {
        b"continue" => Ok(OnOom::Continue),
        b"exit" => Ok(OnOom::Exit),
        _ => Err(Error::usage(format!(
            "invalid value '{}' {place} (continue or exit)",
            shown(value.as_bytes())
        ))),
    }
}

/// A path, byte for byte, or `none`; an empty one (`--termination-log=`) is a mistake.
fn parse_termination_log(value: &OsStr, place: &str) -> Result<TerminationLog, Error> {
    match value.as_bytes() {
        b"" => Err(Error::usage(format!(
            "empty path {place} (a file, or none)"
        ))),
        b"none" => Ok(TerminationLog::Off),
        _ => Ok(TerminationLog::At(value.to_owned())),
    }
}

/// `--stop-delay`'s value: 0 is no delay at all.
fn set_stop_delay(b: &mut Builder, value: &str, bad: impl FnOnce() -> String) -> Result<(), Error> {
    let delay = parse_duration(value).ok_or_else(|| Error::usage(bad()))?;
    b.config.stop_delay = Some(delay).filter(|d| !d.is_zero());
    Ok(())
}

/// A signal for `--restart-signal` (given as `from`): one reaper forwards, but not one that
/// asks to end (that is what `docker stop` and Ctrl-C send: the container must end), nor
/// what reaper never forwards (SIGKILL, SIGSTOP, SIGCHLD, the faults).
fn parse_restart_signal(value: &str, from: &str) -> Result<i32, Error> {
    let sig = signo::parse(value)
        .filter(|&s| s != 0)
        .ok_or_else(|| Error::usage(format!("unknown signal '{value}' for {from}")))?;
    let why = if signo::asks_to_end(sig) {
        "it asks the container to end"
    } else if !signo::is_forwarded(sig) {
        "reaper never takes it"
    } else {
        return Ok(sig);
    };
    Err(Error::usage(format!(
        "signal '{value}' cannot be the restart signal: {why}"
    )))
}

fn parse_exit_code(value: &str) -> Result<u8, Error> {
    Some(value)
        .filter(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|v| v.parse::<u8>().ok())
        .ok_or_else(|| {
            Error::usage(format!(
                "invalid exit code '{value}' for --remap-exit (0 to 255)"
            ))
        })
}

/// 0 = errors only, 1 = warnings (the default), 2 = info, 3 = debug, 4 and more = trace:
/// the scale of `TINI_VERBOSITY`, and one `-v` a step.
fn level_from_count(n: u8) -> log::LevelFilter {
    match n {
        0 => log::LevelFilter::Error,
        1 => log::LevelFilter::Warn,
        2 => log::LevelFilter::Info,
        3 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    }
}

/// Reads the variables of `OPTIONS`, in its order. Our own variables are strict, like an
/// option: a bad value is a usage error. The tini, dumb-init and catatonit ones are
/// lenient, as those tools are: a bad value is warned about and ignored.
fn apply_environment(
    b: &mut Builder,
    env: &impl Fn(&str) -> Option<OsString>,
) -> Result<(), Error> {
    for (index, opt) in OPTIONS.iter().enumerate() {
        for var in opt.vars {
            let the_option_wins = matches!(
                var.reads,
                Reads::Switch | Reads::AsOption | Reads::UnlessGiven(_)
            );
            if matches!(var.reads, Reads::Never) || the_option_wins && b.given(index) {
                continue;
            }
            let (name, shown_value) = var.shown.split_once('=').unwrap_or((var.shown, ""));
            let Some(value) = env(name) else { continue };
            let applies = match var.reads {
                Reads::FlagIfShown => value == shown_value,
                Reads::Debug => value == shown_value || shown_value == "ANY",
                _ => true,
            };
            if applies {
                let noted = match (&var.reads, parse_switch(&value)) {
                    (Reads::Switch, Some(on)) => OsString::from(if on { "on" } else { "off" }),
                    (Reads::FlagIfShown, _) => "on".into(),
                    _ => value.clone(),
                };
                b.note(index, format!("variable {name}"), noted);
            }
            // A unit test checks that each kind is in a row that has what it needs.
            match (&var.reads, &opt.takes) {
                (Reads::Switch, Takes::Nothing(set)) => {
                    let on = parse_switch(&value).ok_or_else(|| {
                        Error::usage(format!(
                            "invalid value '{}' in {name} (1, true, yes, on or 0, false, no, off)",
                            shown(value.as_bytes())
                        ))
                    })?;
                    if on {
                        set(b);
                    }
                }
                (Reads::FlagIfShown, Takes::Nothing(set)) if value == shown_value => set(b),
                (Reads::AsOption, Takes::Value(_, set)) => set(b, &value)?,
                (Reads::UnlessGiven(set) | Reads::Always(set), _) => set(b, &value)?,
                (Reads::Debug, _) if value == shown_value || shown_value == "ANY" => {
                    b.env_level = b.env_level.max(Some(log::LevelFilter::Debug));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// An on/off variable's value: `1`, `true`, `yes`, `on` or `0`, `false`, `no`, `off`, in
/// any case.
fn parse_switch(value: &OsStr) -> Option<bool> {
    let v = value.to_str()?.to_ascii_lowercase();
    match v.as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `FROM:TO`, each a signal name or number; `TO` may be 0 to drop `FROM`.
fn parse_rewrite(value: &str) -> Result<(i32, i32), Error> {
    let bad = || {
        Error::usage(format!(
            "invalid rewrite '{value}' (expected FROM:TO, e.g. TERM:INT)"
        ))
    };
    let (from, to) = value.split_once(':').ok_or_else(bad)?;
    let from = signo::parse(from).ok_or_else(bad)?;
    let to = signo::parse(to).ok_or_else(bad)?;
    if !signo::is_forwarded(from) {
        return Err(Error::usage(format!(
            "signal '{}' in rewrite '{value}' is never forwarded, so it cannot be rewritten",
            signo::name(from)
        )));
    }
    Ok((from, to))
}

/// Seconds as a plain number (`5`, `0.5`), or numbers each with a unit, as Go's
/// `time.ParseDuration` (and so Docker and Kubernetes users) write them: `500ms`, `5s`,
/// `2m`, `1h`, `1m30s`, `1h2m3.5s`; units `ns`, `us` (or `µs`), `ms`, `s`, `m`, `h`.
/// No sign, no exponent; `None` when malformed or beyond what a `Duration` holds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let is_number = |c: char| c.is_ascii_digit() || c == '.';
    let mut total: u128 = 0;
    let mut rest = s;
    if !s.is_empty() && s.chars().all(is_number) {
        total = nanos(s, 1_000_000_000)?;
        rest = "";
    } else if s.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c| !is_number(c)).unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        let unit_end = after.find(is_number).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        total = total.checked_add(nanos(number, per_unit)?)?;
        rest = after;
    }
    let secs = u64::try_from(total / 1_000_000_000).ok()?;
    Some(Duration::new(secs, (total % 1_000_000_000) as u32))
}

/// A decimal number (`5`, `0.5`, `.5`, `5.`) of units of `per_unit` nanoseconds, in
/// nanoseconds; fractions below a nanosecond are dropped.
fn nanos(number: &str, per_unit: u128) -> Option<u128> {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(frac.bytes())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let mut frac_nanos: u128 = 0;
    let mut scale = per_unit.checked_mul(1_000_000_000_000_000_000)?;
    for digit in frac.bytes().take(36) {
        scale /= 10;
        frac_nanos += u128::from(digit - b'0') * scale;
    }
    whole
        .checked_mul(per_unit)?
        .checked_add(frac_nanos / 1_000_000_000_000_000_000)
}

/// What `-l` and `-L` print: the licence, as tini and catatonit print theirs.
pub fn license() -> String {
    format!(
        "reaper {} is licensed under either of
  the Apache License, Version 2.0 <https://www.apache.org/licenses/LICENSE-2.0>
  the MIT license, below
at your option (SPDX-License-Identifier: MIT OR Apache-2.0).

{}",
        env!("CARGO_PKG_VERSION"),
        include_str!("../LICENSE-MIT")
    )
}

pub fn version() -> String {
    format!(
        "reaper version {} - git.{}\n",
        env!("CARGO_PKG_VERSION"),
        env!("REAPER_GIT_COMMIT")
    )
}

/// The `--help` text. It is written from `OPTIONS` and `status` by `docgen`, into the
/// region below, so that the release binary carries the text alone: not the table's help
/// lines, nor the code that lays them out.
pub fn help() -> &'static str {
    HELP
}

// BEGIN GENERATED HELP by: REAPER_REGENERATE=1 cargo test --bin reaper docgen
const HELP: &str = r#"reaper: PID 1 for containers. Runs COMMAND in its own process group, forwards
signals to it, reaps every orphan and zombie, and exits with COMMAND's status.

Usage: reaper [OPTIONS] [--] COMMAND [ARG]...
       reaper -P|--pause [OPTIONS]

Options:
  -c, --single-child           forward signals to the main child only, not its group
  -g                           forward signals to the child's process group (default)
  -s, --subreaper              accepted for tini; reaper is a subreaper whenever it
                               is not PID 1
  -p, --pdeath-signal SIG      have SIG sent to reaper when its parent dies (and so
                               forwarded)
  -e, --remap-exit CODE        report the main child's exit status CODE as 0
                               (repeatable)
  -r, --rewrite FROM:TO        forward signal FROM as TO; TO=0 drops it (repeatable)
  -t, --grace-period DURATION  time between SIGTERM and SIGKILL for what is left when
                               the main child exits (default 5s; 0 kills at once)
  -w, --warn-on-reap           warn for every reaped process but the main child
      --wait-all               when the main child exits, go on reaping and forwarding
                               (to every process left) until none is left
  -P, --pause                  run no command: reap until SIGTERM or SIGINT, exit 0
  -v, --verbose                more output on stderr (repeat: info, debug, trace)
  -u, --user USER[:GROUP]      run COMMAND (only) as USER: name or uid, GROUP name or
                               gid; groups, gid, then uid switched, and checked
      --workdir DIR            run COMMAND in DIR (changed to after --user)
      --write-allow PATH       Landlock: COMMAND may write, create and remove only
                               beneath PATH (repeatable); /dev stays writable
      --write-no-dev           with --write-allow, /dev is not writable either
      --exec-allow PATH        Landlock: COMMAND may execute only files beneath PATH
                               (repeatable; COMMAND itself is checked first)
      --bind-tcp-allow PORT    Landlock: COMMAND may bind TCP sockets only to PORT
                               (repeatable; Linux 6.7)
      --connect-tcp-allow PORT
                               Landlock: COMMAND may connect TCP sockets only to PORT
                               (repeatable; Linux 6.7)
      --scope-signals          Landlock: COMMAND may signal no process outside its
                               sandbox (reaper's signals still reach it; Linux 6.12)
      --scope-abstract-unix    Landlock: COMMAND may connect to no abstract unix
                               socket made outside its sandbox (Linux 6.12)
      --sandbox-best-effort    apply what the Landlock options can, warn about the
                               rest (without it: refuse to start, status 2)
      --expand-env             expand ${VAR}, ${VAR:-default}, ${VAR:?message} and $$
                               in COMMAND and its arguments (not a shell)
      --explain                print what reaper would do, one 'key: value' a line,
                               and exit without starting anything
      --on-oom continue|exit   when the out-of-memory killer kills a process: name
                               it and go on (default continue) or end the container
                               too (exit: teardown, status 137)
      --termination-log PATH   when COMMAND fails, say why in PATH if it is an empty
                               file (default /dev/termination-log; none: nowhere)
      --stop-delay DURATION    hold the first signal asking to end DURATION before
                               forwarding it; a second one goes at once
      --restart-signal SIG     on SIG, end the app's group (SIGTERM, grace period,
                               SIGKILL) and start COMMAND again
  -h, --help                   print this help
  -V, --version                print the version
  -l, --license                print the licence (tini's -l)
  -L                           print the licence (catatonit's -L)

Signals are names (TERM, SIGTERM, sigterm, RTMIN+3, RTMAX-1) or numbers.
A DURATION is seconds (5, 0.5) or has units (500ms, 5s, 2m, 1h, 1m30s).

Environment:
  REAPER_GRACE_PERIOD=DURATION  as --grace-period (the option wins)
  REAPER_LOG=SPEC               log filter in env_logger syntax (e.g. debug)
  REAPER_USER=USER[:GROUP]      as --user (the option wins)
  REAPER_WORKDIR=DIR            as --workdir (the option wins)
  REAPER_WAIT_ALL=1             as --wait-all (1/true/yes/on, 0/false/no/off)
  REAPER_WRITE_ALLOW=PATH[:PATH...]
                                as --write-allow, paths split on ':'
  REAPER_WRITE_NO_DEV=1         as --write-no-dev (1/true/yes/on, 0/false/no/off)
  REAPER_EXEC_ALLOW=PATH[:PATH...]
                                as --exec-allow, paths split on ':'
  REAPER_BIND_TCP_ALLOW=PORT[,PORT...]
                                as --bind-tcp-allow, ports split on ','
  REAPER_CONNECT_TCP_ALLOW=PORT[,PORT...]
                                as --connect-tcp-allow, ports split on ','
  REAPER_SCOPE_SIGNALS=1        as --scope-signals (1/true/yes/on, 0/false/no/off)
  REAPER_SCOPE_ABSTRACT_UNIX=1  as --scope-abstract-unix (1/true/yes/on, 0/false/no/off)
  REAPER_SANDBOX_BEST_EFFORT=1  as --sandbox-best-effort (1/true/yes/on, 0/false/no/off)
  REAPER_EXPAND_ENV=1           as --expand-env (1/true/yes/on, 0/false/no/off)
  REAPER_ON_OOM=continue|exit   as --on-oom (the option wins)
  REAPER_TERMINATION_LOG=PATH   as --termination-log (the option wins)
  REAPER_STOP_DELAY=DURATION    as --stop-delay (the option wins)
  REAPER_RESTART_SIGNAL=SIG     as --restart-signal (the option wins)
  TINI_VERBOSITY=N              0 errors, 1 warnings, 2 info, 3 debug, 4 trace
  DUMB_INIT_DEBUG=1             as -vv
  DUMB_INIT_SETSID=0            as --single-child
  CATATONIT_DEBUG=ANY           as -vv
  TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP
                                accepted for tini; no effect
  CATATONIT_LOG                 reserved by catatonit: ignored with a warning

Exit status: COMMAND's exit code, or 128+N when signal N killed it; 127 when
COMMAND is not found, 126 when it cannot be run; 2 on a usage error (an unknown
or malformed --user, a Landlock restriction that cannot be applied included); 1
when reaper cannot start COMMAND (the user switch or --workdir failed
included); 0 when --pause ends. With --wait-all: COMMAND's status if it is not
0, else that of the last process to end. With --on-oom exit, 137 once the
out-of-memory killer has killed any process.
"#;
// END GENERATED HELP

/// `--explain`'s line for every option that sets something: `NAME: VALUE (FROM)`, where
/// FROM is `option -x`, `variable NAME` or `default`, each line ending in a newline.
/// Written from the table and the origins `parse` noted, so a new option is shown with
/// no code of its own: the tables below (written by `docgen`) say which rows are shown,
/// which take every value given, and each row's default, from its help line's
/// `(default X` (a flag without one is `off`, a value `none`).
pub fn explained(config: &Config) -> String {
    let mut out = String::new();
    for ((row, opt), default) in OPTIONS.iter().enumerate().zip(DEFAULTS.split('\n')) {
        if EXPLAINED & (1 << row) == 0 {
            continue;
        }
        let repeatable = REPEATABLE & (1 << row) != 0;
        // Every row shown has a long name (a unit test checks).
        out.push_str(opt.long.unwrap_or_default());
        out.push_str(": ");
        // Values from one place are one run: `-e 1 -e 2` is one, `-v` and TINI_VERBOSITY
        // two; `-t 1 --grace-period 2` one, shown as its last value, the one that counts.
        let same = |a: &str, b: &str| {
            a == b || !repeatable && a.starts_with("option ") && b.starts_with("option ")
        };
        // The run being written: where it came from, and where its values start.
        let mut run: Option<(&str, usize)> = None;
        for origin in config.origins.iter().filter(|o| o.row == row) {
            let start = match run {
                Some((from, start)) if same(from, &origin.from) => {
                    if repeatable {
                        out.push(' ');
                    } else {
                        out.truncate(start);
                    }
                    start
                }
                Some((from, _)) => {
                    push_origin(&mut out, from);
                    out.push_str(", ");
                    out.len()
                }
                None => out.len(),
            };
            run = Some((&origin.from, start));
            out.push_str(&shown(origin.value.as_bytes()));
        }
        let from = match run {
            Some((from, _)) => from,
            None => {
                let flag = matches!(opt.takes, Takes::Nothing(_));
                out.push_str(match default {
                    "" if flag => "off",
                    "" => "none",
                    default => default,
                });
                "default"
            }
        };
        push_origin(&mut out, from);
        out.push('\n');
    }
    out
}

fn push_origin(out: &mut String, from: &str) {
    out.push_str(" (");
    out.push_str(from);
    out.push(')');
}

// BEGIN GENERATED EXPLAIN by: REAPER_REGENERATE=1 cargo test --bin reaper docgen
/// The rows `--explain` shows: those that set something (not `-g`, `-s`, `--help`...).
const EXPLAINED: u64 = 0x7bffff9;
/// The rows whose every value counts (`(repeatable` in their help), not the last one.
const REPEATABLE: u64 = 0x3a030;
/// Each row's default, as its help gives it (`(default X`), a line each.
const DEFAULTS: &str =
    "\non\n\n\n\n\n5s\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\ncontinue\n/dev/termination-log\n\n\n\n\n\n";
// END GENERATED EXPLAIN

impl Var {
    /// Its names: `shown` without the value. (Only a variable that is never read has
    /// more than one, a unit test checks.)
    #[cfg(test)]
    fn names(&self) -> impl Iterator<Item = &'static str> {
        let shown = self.shown;
        // Split at a character, not at ", ": a string pattern costs the binary its searcher.
        shown
            .split('=')
            .next()
            .unwrap_or(shown)
            .split(',')
            .map(str::trim_start)
    }

    /// Its value, if `shown` gives one.
    #[cfg(test)]
    fn value(&self) -> Option<&'static str> {
        self.shown.split_once('=').map(|(_, value)| value)
    }
}

#[cfg(test)]
mod docgen;

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn parse_with(args: &[&str], env: &[(&str, &str)]) -> Result<Request, Error> {
        let env: Vec<(String, OsString)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        parse(&os(args), |key| {
            env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    fn config(args: &[&str]) -> Config {
        match parse_with(args, &[]) {
            Ok(Request::Run(c)) => *c,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    fn usage_error(args: &[&str]) -> String {
        match parse_with(args, &[]) {
            Err(e) => {
                assert_eq!(e.status(), 2, "{e}");
                e.to_string()
            }
            other => panic!("{args:?} should be a usage error, gave {other:?}"),
        }
    }

    #[test]
    fn stops_at_the_first_non_option() {
        let c = config(&["sh", "-c", "echo hi", "-v"]);
        assert_eq!(c.mode, Mode::Command(os(&["sh", "-c", "echo hi", "-v"])));
        assert!(!c.single_child);
        assert_eq!(
            config(&["--", "sh", "-c", "x"]).mode,
            Mode::Command(os(&["sh", "-c", "x"]))
        );
        assert_eq!(
            config(&["-v", "--", "--weird"]).mode,
            Mode::Command(os(&["--weird"]))
        );
        assert_eq!(config(&["-"]).mode, Mode::Command(os(&["-"])));
    }

    #[test]
    fn short_clusters_and_values() {
        let c = config(&["-cvvw", "-t5", "-e", "143", "-e3", "-r", "TERM:INT", "true"]);
        assert!(c.single_child && c.warn_on_reap);
        assert_eq!(c.log_level, log::LevelFilter::Debug);
        assert_eq!(c.grace_period, Duration::from_secs(5));
        assert!(c.remap_exit.contains(143) && c.remap_exit.contains(3));
        assert!(!c.remap_exit.contains(0) && !c.remap_exit.contains(255));
        assert_eq!(c.rewrite.apply(15), Some(2));
        assert_eq!(c.rewrite.apply(10), Some(10));
        let c = config(&["-vt", "0.25", "true"]);
        assert_eq!(c.grace_period, Duration::from_millis(250));
    }

    #[test]
    fn long_options_with_and_without_equals() {
        let c = config(&[
            "--grace-period=2m",
            "--pdeath-signal",
            "SIGUSR1",
            "--rewrite=usr2:0",
            "--remap-exit=255",
            "--single-child",
            "--warn-on-reap",
            "--verbose",
            "run",
        ]);
        assert_eq!(c.grace_period, Duration::from_secs(120));
        assert_eq!(c.pdeath_signal, Some(libc::SIGUSR1));
        assert_eq!(
            config(&["-p", "KILL", "x"]).pdeath_signal,
            Some(libc::SIGKILL)
        );
        assert_eq!(config(&["-p", "RTMIN+2", "x"]).pdeath_signal, Some(36));
        assert_eq!(c.rewrite.apply(libc::SIGUSR2), None);
        assert!(c.remap_exit.contains(255));
        assert!(c.single_child && c.warn_on_reap);
        assert_eq!(c.log_level, log::LevelFilter::Info);
    }

    #[test]
    fn tini_and_dumb_init_flags_are_accepted() {
        let c = config(&["-s", "-g", "-v", "--", "app"]);
        assert_eq!(c.mode, Mode::Command(os(&["app"])));
        assert!(!c.single_child);
        assert_eq!(
            config(&["--subreaper", "app"]).mode,
            Mode::Command(os(&["app"]))
        );
    }

    #[test]
    fn wait_all_from_the_option_or_the_environment() {
        assert!(!config(&["x"]).wait_all);
        assert!(config(&["--wait-all", "x"]).wait_all);
        let env = |v: &str| parse_with(&["x"], &[("REAPER_WAIT_ALL", v)]);
        for on in ["1", "true", "yes", "on", "TRUE"] {
            assert!(matches!(env(on), Ok(Request::Run(c)) if c.wait_all), "{on}");
        }
        for off in ["0", "false", "no", "off", ""] {
            assert!(
                matches!(env(off), Ok(Request::Run(c)) if !c.wait_all),
                "{off}"
            );
        }
        match env("2") {
            Err(e) => assert!(e.to_string().contains("'2'") && e.status() == 2, "{e}"),
            other => panic!("{other:?}"),
        }
        assert!(usage_error(&["--wait-all=1", "x"]).contains("'--wait-all'"));
    }

    #[test]
    fn on_oom_and_termination_log_from_the_option_or_the_environment() {
        let run = |args: &[&str], env: &[(&str, &str)]| match parse_with(args, env) {
            Ok(Request::Run(c)) => *c,
            other => panic!("{args:?} {env:?} gave {other:?}"),
        };
        assert_eq!(config(&["x"]).on_oom, OnOom::Continue);
        assert_eq!(config(&["--on-oom", "exit", "x"]).on_oom, OnOom::Exit);
        assert_eq!(config(&["--on-oom=continue", "x"]).on_oom, OnOom::Continue);
        assert_eq!(
            run(&["x"], &[("REAPER_ON_OOM", "exit")]).on_oom,
            OnOom::Exit
        );
        let c = run(&["--on-oom", "continue", "x"], &[("REAPER_ON_OOM", "exit")]);
        assert_eq!(c.on_oom, OnOom::Continue, "the option wins");
        assert!(usage_error(&["--on-oom", "EXIT", "x"]).contains("'EXIT' for --on-oom"));
        match parse_with(&["x"], &[("REAPER_ON_OOM", "kill")]) {
            Err(e) => assert!(e.to_string().contains("'kill' in REAPER_ON_OOM"), "{e}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(config(&["-P", "--on-oom", "exit"]).on_oom, OnOom::Exit);

        assert_eq!(config(&["x"]).termination_log, TerminationLog::Default);
        assert_eq!(
            config(&["--termination-log", "/tmp/m", "x"]).termination_log,
            TerminationLog::At("/tmp/m".into())
        );
        assert_eq!(
            config(&["--termination-log=none", "x"]).termination_log,
            TerminationLog::Off
        );
        let c = run(&["x"], &[("REAPER_TERMINATION_LOG", "none")]);
        assert_eq!(c.termination_log, TerminationLog::Off);
        let c = run(
            &["--termination-log", "/a", "x"],
            &[("REAPER_TERMINATION_LOG", "none")],
        );
        assert_eq!(c.termination_log, TerminationLog::At("/a".into()));
        assert!(usage_error(&["--termination-log=", "x"]).contains("empty path"));
        // `--pause --on-oom exit` writes it too: the option is no option about the command.
        assert_eq!(
            config(&["-P", "--termination-log", "/a"]).termination_log,
            TerminationLog::At("/a".into())
        );
    }

    #[test]
    fn pause_mode() {
        assert_eq!(config(&["-P"]).mode, Mode::Pause);
        assert_eq!(config(&["--pause", "-w"]).mode, Mode::Pause);
        assert!(usage_error(&["-P", "sleep", "1"]).contains("'sleep'"));
    }

    #[test]
    fn help_and_version_end_parsing() {
        assert_eq!(parse_with(&["-h"], &[]), Ok(Request::Help));
        assert_eq!(parse_with(&["--help", "--bogus"], &[]), Ok(Request::Help));
        assert_eq!(parse_with(&["-V"], &[]), Ok(Request::Version));
        assert_eq!(parse_with(&["--version"], &[]), Ok(Request::Version));
        assert_eq!(parse_with(&["-l", "x"], &[]), Ok(Request::License));
        assert_eq!(parse_with(&["--license"], &[]), Ok(Request::License));
        assert_eq!(parse_with(&["-vL", "x"], &[]), Ok(Request::License));
        // After the command, --help belongs to the command.
        assert!(matches!(
            parse_with(&["ls", "--help"], &[]),
            Ok(Request::Run(_))
        ));
    }

    #[test]
    fn usage_errors_name_the_bad_word() {
        assert!(usage_error(&[]).contains("no command"));
        assert!(usage_error(&["--"]).contains("no command"));
        assert!(usage_error(&["--bogus", "x"]).contains("'--bogus'"));
        assert!(usage_error(&["-x", "app"]).contains("'-x'"));
        assert!(usage_error(&["-vq", "app"]).contains("'-q'"));
        assert!(usage_error(&["-t"]).contains("'-t'"));
        assert!(usage_error(&["--rewrite"]).contains("'--rewrite'"));
        assert!(usage_error(&["-t", "abc", "x"]).contains("'abc'"));
        assert!(usage_error(&["-t", "-1", "x"]).contains("'-1'"));
        assert!(usage_error(&["-e", "256", "x"]).contains("'256'"));
        assert!(usage_error(&["-e", "-1", "x"]).contains("'-1'"));
        assert!(usage_error(&["-p", "NOPE", "x"]).contains("'NOPE'"));
        assert!(usage_error(&["-p", "0", "x"]).contains("'0'"));
        assert!(usage_error(&["-p", "65", "x"]).contains("'65'"));
        assert!(usage_error(&["-p", "CHLD", "x"]).contains("'CHLD'"));
        assert!(usage_error(&["-p", "STOP", "x"]).contains("'STOP'"));
        assert!(usage_error(&["-p", "SEGV", "x"]).contains("'SEGV'"));
        assert!(usage_error(&["-e", "+5", "x"]).contains("'+5'"));
        assert!(usage_error(&["-e", "", "x"]).contains("''"));
        assert!(usage_error(&["-r", "TERM", "x"]).contains("'TERM'"));
        assert!(usage_error(&["-r", "TERM:99", "x"]).contains("'TERM:99'"));
        assert!(usage_error(&["-r", "KILL:TERM", "x"]).contains("SIGKILL"));
        assert!(usage_error(&["-r", "CHLD:TERM", "x"]).contains("SIGCHLD"));
        assert!(usage_error(&["--help=yes"]).contains("'--help'"));
        assert!(usage_error(&["--pause=1"]).contains("'--pause'"));
    }

    #[test]
    fn non_utf8_arguments_pass_through() {
        use std::os::unix::ffi::OsStringExt;
        let weird = OsString::from_vec(vec![0xff, b'a', 0xfe]);
        let args = vec![OsString::from("cmd"), weird.clone()];
        match parse(&args, |_| None) {
            Ok(Request::Run(c)) => assert_eq!(c.mode, Mode::Command(vec!["cmd".into(), weird])),
            other => panic!("{other:?}"),
        }
        let bad_value = vec![
            OsString::from("-t"),
            OsString::from_vec(vec![0xff]),
            "x".into(),
        ];
        assert!(parse(&bad_value, |_| None).is_err());
    }

    /// Paths and user names reach reaper byte for byte; a value that must be text is
    /// refused, as a usage error that shows its bytes.
    #[test]
    fn option_values_are_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let bytes = |b: &[u8]| OsString::from_vec(b.to_vec());
        let dir = bytes(b"/data/\xff");
        for args in [
            vec!["--workdir".into(), dir.clone(), "x".into()],
            vec![bytes(b"--workdir=/data/\xff"), "x".into()],
        ] {
            match parse(&args, |_| None) {
                Ok(Request::Run(c)) => assert_eq!(c.workdir, Some(dir.clone())),
                other => panic!("{other:?}"),
            }
        }
        let args = vec![bytes(b"-u\xffapp:\xfe"), "x".into()];
        match parse(&args, |_| None) {
            Ok(Request::Run(c)) => assert_eq!(c.user, Some(bytes(b"\xffapp:\xfe"))),
            other => panic!("{other:?}"),
        }
        let env = |k: &str| (k == "REAPER_USER").then(|| bytes(b"\xff"));
        match parse(&["x".into()], env) {
            Ok(Request::Run(c)) => assert_eq!(c.user, Some(bytes(b"\xff"))),
            other => panic!("{other:?}"),
        }
        for (option, value) in [
            ("-t", &b"5\xff"[..]),
            ("--grace-period", b"\xff"),
            ("-p", b"TERM\xff"),
            ("-e", b"\xff"),
            ("-r", b"TERM:\xff"),
        ] {
            let args = vec![option.into(), bytes(value), "x".into()];
            match parse(&args, |_| None) {
                Err(e) => {
                    assert_eq!(e.status(), 2, "{e}");
                    assert!(e.to_string().contains("\\xff"), "{e}");
                    assert!(e.to_string().contains("not UTF-8"), "{e}");
                }
                other => panic!("{option}: {other:?}"),
            }
        }
        let env = |k: &str| (k == "REAPER_GRACE_PERIOD").then(|| bytes(b"1\xff"));
        match parse(&["x".into()], env) {
            Err(e) => assert!(e.to_string().contains("'1\\xff'"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    /// An option that concerns the command is a usage error with `--pause`; the variables
    /// (an image's `ENV`) are not.
    #[test]
    fn options_for_the_command_are_refused_with_pause() {
        for (args, named) in [
            (&["-P", "--user", "app"][..], "--user"),
            (&["--workdir=/", "--pause"], "--workdir"),
            (&["-Pu", "app"], "-u"),
            (&["-P", "-c"], "-c"),
            (&["-P", "--single-child"], "--single-child"),
            (&["-P", "-e", "3"], "-e"),
            (&["-P", "-r", "TERM:INT"], "-r"),
            (&["-P", "--wait-all"], "--wait-all"),
            (&["-P", "--stop-delay", "1"], "--stop-delay"),
            (&["-P", "--restart-signal=HUP"], "--restart-signal"),
        ] {
            let e = usage_error(args);
            assert!(
                e.starts_with(&format!("option '{named}' concerns the command")),
                "{e}"
            );
            assert!(e.contains("--pause"), "{e}");
        }
        let ok = [
            "-P",
            "-w",
            "-t",
            "1",
            "-v",
            "-g",
            "-s",
            "-p",
            "TERM",
            "--on-oom=exit",
            "--termination-log=none",
        ];
        assert_eq!(config(&ok).mode, Mode::Pause);
        let env = [
            ("REAPER_USER", "app"),
            ("REAPER_WORKDIR", "/"),
            ("DUMB_INIT_SETSID", "0"),
        ];
        assert!(matches!(
            parse_with(&["-P"], &env),
            Ok(Request::Run(c)) if c.mode == Mode::Pause
        ));
    }

    /// The option wins over its variable, which is then not read at all: a bad value in
    /// it does not matter.
    #[test]
    fn an_option_given_leaves_its_variable_unread() {
        let run = |env: &[(&str, &str)], args: &[&str]| match parse_with(args, env) {
            Ok(Request::Run(c)) => *c,
            other => panic!("{args:?} {env:?}: {other:?}"),
        };
        let c = run(&[("REAPER_GRACE_PERIOD", "abc")], &["-t", "1", "x"]);
        assert_eq!(c.grace_period, Duration::from_secs(1));
        let c = run(
            &[("REAPER_GRACE_PERIOD", "abc")],
            &["--grace-period=2", "x"],
        );
        assert_eq!(c.grace_period, Duration::from_secs(2));
        assert!(run(&[("REAPER_WAIT_ALL", "maybe")], &["--wait-all", "x"]).wait_all);
        // Nor is any variable read for --help or --version.
        let env = [("REAPER_GRACE_PERIOD", "abc"), ("REAPER_WAIT_ALL", "maybe")];
        assert_eq!(parse_with(&["--help"], &env), Ok(Request::Help));
        assert_eq!(parse_with(&["-V"], &env), Ok(Request::Version));
        // Without the option, the bad variable is still an error.
        assert!(parse_with(&["x"], &env).is_err());
    }

    #[test]
    fn durations() {
        let d = |s| parse_duration(s);
        assert_eq!(d("5"), Some(Duration::from_secs(5)));
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(d("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(d(".5"), Some(Duration::from_millis(500)));
        assert_eq!(d("5."), Some(Duration::from_secs(5)));
        assert_eq!(d("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(d("1.5ms"), Some(Duration::from_micros(1500)));
        assert_eq!(d("5s"), Some(Duration::from_secs(5)));
        assert_eq!(d("2m"), Some(Duration::from_secs(120)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d("0.000000001"), Some(Duration::from_nanos(1)));
        assert_eq!(
            d("18446744073709551615"),
            Some(Duration::from_secs(u64::MAX))
        );
        // Go's compound form, as Docker and Kubernetes users write it.
        assert_eq!(d("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(d("1h2m"), Some(Duration::from_secs(3720)));
        assert_eq!(d("1h2m3.5s"), Some(Duration::from_millis(3_723_500)));
        assert_eq!(d("2s500ms"), Some(Duration::from_millis(2500)));
        assert_eq!(d("1.5s250ms"), Some(Duration::from_millis(1750)));
        assert_eq!(d("300us"), Some(Duration::from_micros(300)));
        assert_eq!(d("300µs"), Some(Duration::from_micros(300)));
        assert_eq!(d("7ns"), Some(Duration::from_nanos(7)));
        assert_eq!(d("0s"), Some(Duration::ZERO));
        assert_eq!(d(".5m"), Some(Duration::from_secs(30)));
        for bad in [
            "",
            ".",
            "s",
            "-1",
            "+1",
            "1e3",
            "1.2.3",
            "5 s",
            " 5",
            "5x",
            "abc",
            "NaN",
            "inf",
            "18446744073709551616",
            "99999999999999999999999999999999999999999",
            "1,5",
            "1m30",
            "1m 30s",
            "m30s",
            "1h-2m",
            "-1m30s",
            "1.5.5s",
            "5sec",
            "1d",
            "5S",
            "99999999999999999999h",
        ] {
            assert_eq!(d(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn environment() {
        let run = |env: &[(&str, &str)], args: &[&str]| match parse_with(args, env) {
            Ok(Request::Run(c)) => *c,
            other => panic!("{other:?}"),
        };
        let c = run(&[("REAPER_GRACE_PERIOD", "250ms")], &["x"]);
        assert_eq!(c.grace_period, Duration::from_millis(250));
        let c = run(&[("REAPER_GRACE_PERIOD", "250ms")], &["-t", "1", "x"]);
        assert_eq!(c.grace_period, Duration::from_secs(1));
        assert_eq!(run(&[], &["x"]).grace_period, DEFAULT_GRACE_PERIOD);
        assert_eq!(run(&[], &["x"]).log_spec, None);
        assert_eq!(run(&[("REAPER_LOG", "")], &["x"]).log_spec, None);
        assert_eq!(
            run(&[("REAPER_LOG", "debug")], &["x"]).log_spec.as_deref(),
            Some("debug")
        );
        // Empty is unset, for every variable.
        assert_eq!(
            run(&[("REAPER_GRACE_PERIOD", "")], &["x"]).grace_period,
            DEFAULT_GRACE_PERIOD
        );
        assert_eq!(
            run(&[("REAPER_GRACE_PERIOD", "1m30s")], &["x"]).grace_period,
            Duration::from_secs(90)
        );
        match parse_with(&["x"], &[("REAPER_GRACE_PERIOD", "abc")]) {
            Err(e) => {
                assert!(e.to_string().contains("'abc'") && e.to_string().contains("REAPER_GRACE"))
            }
            other => panic!("{other:?}"),
        }
    }

    /// tini's, dumb-init's and catatonit's variables: the log level, the process group,
    /// and a warning for a value reaper cannot take.
    #[test]
    fn environment_of_the_peers() {
        let run = |env: &[(&str, &str)], args: &[&str]| match parse_with(args, env) {
            Ok(Request::Run(c)) => *c,
            other => panic!("{other:?}"),
        };
        assert!(run(&[("DUMB_INIT_SETSID", "0")], &["x"]).single_child);
        assert!(!run(&[("DUMB_INIT_SETSID", "1")], &["x"]).single_child);
        assert_eq!(run(&[], &["x"]).log_level, log::LevelFilter::Warn);
        assert_eq!(
            run(&[("TINI_VERBOSITY", "0")], &["x"]).log_level,
            log::LevelFilter::Error,
            "tini's 0: errors only"
        );
        assert_eq!(
            run(&[("TINI_VERBOSITY", "0")], &["-v", "x"]).log_level,
            log::LevelFilter::Info
        );
        assert_eq!(
            run(&[("TINI_VERBOSITY", "3")], &["-v", "x"]).log_level,
            log::LevelFilter::Debug,
            "-v never lowers the level"
        );
        assert_eq!(
            run(&[("TINI_VERBOSITY", "2")], &["x"]).log_level,
            log::LevelFilter::Info
        );
        assert_eq!(
            run(&[("TINI_VERBOSITY", "3")], &["x"]).log_level,
            log::LevelFilter::Debug
        );
        assert_eq!(
            run(&[("DUMB_INIT_DEBUG", "1")], &["x"]).log_level,
            log::LevelFilter::Debug
        );
        let c = run(&[("TINI_VERBOSITY", "-1")], &["x"]);
        assert_eq!(c.log_level, log::LevelFilter::Warn);
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("TINI_VERBOSITY='-1'"));
        let c = run(
            &[("TINI_SUBREAPER", ""), ("TINI_KILL_PROCESS_GROUP", "1")],
            &["x"],
        );
        assert!(!c.single_child && c.warnings.is_empty());
        assert_eq!(
            run(&[("CATATONIT_DEBUG", "0")], &["x"]).log_level,
            log::LevelFilter::Debug,
            "catatonit: any value"
        );
        let c = run(&[("CATATONIT_LOG", "x")], &["x"]);
        assert!(c.warnings.len() == 1 && c.warnings[0].contains("CATATONIT_LOG"));
        assert!(run(&[("CATATONIT_LOG", "")], &["x"]).warnings.is_empty());
        // Empty is unset here too.
        let c = run(&[("TINI_VERBOSITY", ""), ("DUMB_INIT_DEBUG", "")], &["x"]);
        assert!(c.warnings.is_empty() && c.log_level == log::LevelFilter::Warn);
    }

    #[test]
    fn user_and_workdir_from_options_and_environment() {
        let run = |env: &[(&str, &str)], args: &[&str]| match parse_with(args, env) {
            Ok(Request::Run(c)) => *c,
            other => panic!("{other:?}"),
        };
        let c = run(&[], &["--user", "app:staff", "--workdir=/srv", "x"]);
        assert_eq!(c.user.as_deref(), Some(OsStr::new("app:staff")));
        assert_eq!(c.workdir, Some(OsString::from("/srv")));
        assert_eq!(
            run(&[], &["-u1000", "x"]).user.as_deref(),
            Some(OsStr::new("1000"))
        );
        assert_eq!(
            run(&[], &["-u", "app", "x"]).user.as_deref(),
            Some(OsStr::new("app"))
        );
        let c = run(&[], &["x"]);
        assert_eq!((c.user, c.workdir), (None, None));
        let env = [("REAPER_USER", "app"), ("REAPER_WORKDIR", "/data")];
        let c = run(&env, &["x"]);
        assert_eq!(c.user.as_deref(), Some(OsStr::new("app")));
        assert_eq!(c.workdir, Some(OsString::from("/data")));
        let c = run(&env, &["--user=root", "--workdir", "/", "x"]);
        assert_eq!(
            c.user.as_deref(),
            Some(OsStr::new("root")),
            "the option wins"
        );
        assert_eq!(c.workdir, Some(OsString::from("/")));
        let c = run(&[("REAPER_USER", ""), ("REAPER_WORKDIR", "")], &["x"]);
        assert_eq!((c.user, c.workdir), (None, None), "empty is unset");
        assert!(usage_error(&["--user"]).contains("'--user'"));
        assert!(usage_error(&["--workdir"]).contains("'--workdir'"));
        assert!(usage_error(&["-W", "/", "x"]).contains("'-W'"));
    }

    #[test]
    fn expand_env_from_the_option_or_the_environment() {
        assert!(!config(&["x"]).expand_env);
        assert!(config(&["--expand-env", "x", "${A}"]).expand_env);
        let env = |v: &str| parse_with(&["x"], &[("REAPER_EXPAND_ENV", v)]);
        assert!(matches!(env("1"), Ok(Request::Run(c)) if c.expand_env));
        assert!(matches!(env("off"), Ok(Request::Run(c)) if !c.expand_env));
        assert!(env("maybe").is_err());
        // The words themselves are expanded at start (`spawn::words`), not here.
        assert_eq!(
            config(&["--expand-env", "x", "${A"]).mode,
            Mode::Command(os(&["x", "${A"]))
        );
        assert!(usage_error(&["-P", "--expand-env"]).contains("'--expand-env'"));
    }

    /// `--explain` asks for the configuration to be shown, whatever its place among the
    /// options; bad input is still an error.
    #[test]
    fn explain_is_a_request_of_its_own() {
        match parse_with(&["-t", "1", "--explain", "x"], &[]) {
            Ok(Request::Explain(c)) => assert_eq!(c.grace_period, Duration::from_secs(1)),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(parse_with(&["--explain", "-P"], &[]), Ok(Request::Explain(c)) if c.mode == Mode::Pause)
        );
        assert!(matches!(
            parse_with(&["x", "--explain"], &[]),
            Ok(Request::Run(_))
        ));
        assert!(usage_error(&["--explain"]).contains("no command"));
        assert!(usage_error(&["--explain", "-t", "x", "y"]).contains("'x'"));
        assert!(parse_with(&["--explain", "x"], &[("REAPER_WAIT_ALL", "2")]).is_err());
    }

    /// `explained`'s lines for `args` with `env` as the environment.
    fn explained_lines(args: &[&str], env: &[(&str, &str)]) -> Vec<String> {
        match parse_with(args, env) {
            Ok(Request::Run(c) | Request::Explain(c)) => {
                explained(&c).lines().map(str::to_string).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    /// Every option that sets something has its line, with its value and where it came
    /// from; one not given shows its default.
    #[test]
    fn explained_lines_say_where_each_setting_came_from() {
        let all = explained_lines(&["x"], &[]);
        let named: Vec<&str> = all.iter().filter_map(|l| l.split(": ").next()).collect();
        let expected: Vec<&str> = OPTIONS
            .iter()
            .filter_map(|o| o.long)
            .filter(|l| !["subreaper", "help", "version", "license", "explain"].contains(l))
            .collect();
        assert_eq!(named, expected);
        assert!(
            all.contains(&"grace-period: 5s (default)".to_string()),
            "{all:?}"
        );
        assert!(all.contains(&"single-child: off (default)".to_string()));
        assert!(all.contains(&"user: none (default)".to_string()));
        let env = [
            ("REAPER_GRACE_PERIOD", "1m30s"),
            ("REAPER_WAIT_ALL", "0"),
            ("DUMB_INIT_SETSID", "0"),
            ("TINI_VERBOSITY", "3"),
            ("REAPER_USER", "app\nx"),
        ];
        let some = explained_lines(
            &[
                "-vv",
                "-e",
                "3",
                "-e4",
                "-t",
                "1",
                "--grace-period=2",
                "-r",
                "TERM:INT",
                "x",
            ],
            &env,
        );
        for want in [
            "grace-period: 2 (option --grace-period)",
            "remap-exit: 3 4 (option -e)",
            "rewrite: TERM:INT (option -r)",
            "wait-all: off (variable REAPER_WAIT_ALL)",
            "single-child: on (variable DUMB_INIT_SETSID)",
            "verbose: on (option -v), 3 (variable TINI_VERBOSITY)",
            "user: app\\nx (variable REAPER_USER)",
            "expand-env: off (default)",
        ] {
            assert!(some.contains(&want.to_string()), "{want}: {some:?}");
        }
    }

    /// A setting given more than once, and by a variable too, is explained as the last
    /// option that gave it.
    #[test]
    fn explained_lines_name_the_option_that_won() {
        let one = explained_lines(
            &["-t", "1", "-t", "2", "--wait-all", "x"],
            &[("REAPER_GRACE_PERIOD", "9")],
        );
        assert!(
            one.contains(&"grace-period: 2 (option -t)".to_string()),
            "{one:?}"
        );
        assert!(
            one.contains(&"wait-all: on (option --wait-all)".to_string()),
            "{one:?}"
        );
    }

    #[test]
    fn rewrites_table() {
        let r = Rewrites::default();
        for sig in 0..=64 {
            assert_eq!(r.apply(sig), if sig == 0 { None } else { Some(sig) });
        }
        let c = config(&["-r", "RTMIN+1:RTMAX", "-r", "15:10", "-r", "15:12", "x"]);
        assert_eq!(c.rewrite.apply(35), Some(64));
        assert_eq!(
            c.rewrite.apply(15),
            Some(12),
            "the last rewrite of a signal wins"
        );
        assert_eq!(c.rewrite.apply(200), Some(200));
        assert_eq!(c.rewrite.apply(-1), Some(-1));
    }

    /// Odd words for the random command lines: options and clusters, values out of range,
    /// empty, with newlines, not UTF-8.
    const WORDS: &[&[u8]] = &[
        b"-c",
        b"-g",
        b"-s",
        b"-w",
        b"-v",
        b"-P",
        b"-h",
        b"-V",
        b"--",
        b"-",
        b"",
        b"-t",
        b"-t5",
        b"-e",
        b"-e256",
        b"-p",
        b"-pTERM",
        b"-r",
        b"-rTERM:0",
        b"--rewrite=",
        b"--grace-period=",
        b"--remap-exit",
        b"--pdeath-signal=RTMAX",
        b"--bogus",
        b"-vcx",
        b"0",
        b"-1",
        b"99999999999999999999999",
        b"1e9",
        b"KILL:TERM",
        b"::",
        b"\xff\xfe",
        b"RTMIN+99",
        b"sh",
        b"--pause=",
        b"=",
        b"-=",
        b"--=",
        b"-t5\nreaper: fake line",
        b"--rewrite=TERM\n:INT",
        b"-e\t1",
        b"1m30s",
    ];

    /// A word of a random command line or value of a variable: one of WORDS, or (one time
    /// in four) any bytes but NUL, which no argv word or environment value can hold.
    fn word() -> impl proptest::strategy::Strategy<Value = OsString> {
        use proptest::prelude::*;
        use std::os::unix::ffi::OsStringExt;
        prop_oneof![
            3 => proptest::sample::select(WORDS).prop_map(|w| OsString::from_vec(w.to_vec())),
            1 => proptest::collection::vec(1u8..=0xff, 0..8).prop_map(OsString::from_vec),
        ]
    }

    /// Random command lines, and random values in the variables reaper reads: parsing
    /// never panics, an error is one line with the usage status, and a command to run is
    /// never empty. A fixed seed (`PROPTEST_RNG_SEED` chooses another) and no failure file,
    /// as in the integration tests' fuzzing; a failure names its smallest case.
    #[test]
    fn random_command_lines_parse_or_fail_cleanly() {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestRunner};
        let env = Config::default();
        let given = |var: &str| std::env::var_os(var).is_some();
        let mut runner = TestRunner::new(Config {
            cases: if given("PROPTEST_CASES") {
                env.cases
            } else {
                100_000
            },
            // Three times as fast as the default (ChaCha) here, where generating is most of
            // the work, and random enough to pick words.
            rng_algorithm: if given("PROPTEST_RNG_ALGORITHM") {
                env.rng_algorithm
            } else {
                RngAlgorithm::XorShift
            },
            rng_seed: if given("PROPTEST_RNG_SEED") {
                env.rng_seed
            } else {
                RngSeed::Fixed(0x7265_6170_6572)
            },
            failure_persistence: None,
            ..env
        });
        let names: Vec<&str> = docgen::variables()
            .iter()
            .flat_map(|(_, v)| v.names())
            .collect();
        let variables = vec((proptest::sample::select(names), word()), 0..3);
        let result = runner.run(&(vec(word(), 0..7), variables), |(args, vars)| {
            let got = parse(&args, |key| {
                vars.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone())
            });
            match got {
                Ok(Request::Run(c)) => {
                    if let Mode::Command(cmd) = c.mode {
                        prop_assert!(!cmd.is_empty(), "{args:?} {vars:?}");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    prop_assert!(!e.to_string().contains('\n'), "{args:?} {vars:?}: {e}");
                    prop_assert_eq!(e.status(), 2, "{:?} {:?}: {}", args, vars, e);
                }
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("seed {}: {e}", runner.config().rng_seed);
        }
    }

    /// The variables' order in `--help` is a permutation, a name is read for one thing,
    /// each kind of variable is in a row that has what it needs (a flag, a value, a value
    /// shown), and only reaper's own variables give way to their option.
    #[test]
    fn every_variable_is_listed_once_and_read_for_one_thing() {
        let vars = docgen::variables();
        let listed: Vec<u8> = vars.iter().map(|(_, v)| v.listed).collect();
        assert_eq!(listed, (0..vars.len() as u8).collect::<Vec<_>>());
        let mut names: Vec<&str> = vars.iter().flat_map(|(_, v)| v.names()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a variable is in two rows: {names:?}");
        for (o, v) in vars {
            let flag = matches!(o.takes, Takes::Nothing(_));
            let needs = match v.reads {
                Reads::Switch => flag,
                Reads::FlagIfShown => flag && v.value().is_some(),
                Reads::AsOption => !flag,
                Reads::Debug => v.value().is_some(),
                Reads::UnlessGiven(_) | Reads::Always(_) | Reads::Never => true,
            };
            assert!(needs, "{}: its kind does not fit its row", v.shown);
            if !matches!(v.reads, Reads::Never) {
                assert_eq!(v.names().count(), 1, "{}: one name is read", v.shown);
            }
            if matches!(
                v.reads,
                Reads::Switch | Reads::AsOption | Reads::UnlessGiven(_)
            ) {
                assert!(v.shown.starts_with("REAPER_"), "{}", v.shown);
            }
            assert!(
                !v.help(o).contains('\n') && !v.help(o).is_empty(),
                "{}",
                v.shown
            );
        }
    }

    #[test]
    fn stop_delay_from_the_option_or_the_environment() {
        assert_eq!(config(&["true"]).stop_delay, None);
        let c = config(&["--stop-delay", "1.5s", "true"]);
        assert_eq!(c.stop_delay, Some(Duration::from_millis(1500)));
        assert_eq!(config(&["--stop-delay=0", "true"]).stop_delay, None);
        let env = |v: &str, args: &[&str]| match parse_with(args, &[("REAPER_STOP_DELAY", v)]) {
            Ok(Request::Run(c)) => Ok(c.stop_delay),
            Err(e) => Err(e.to_string()),
            other => panic!("{other:?}"),
        };
        assert_eq!(env("250ms", &["x"]), Ok(Some(Duration::from_millis(250))));
        assert_eq!(env("", &["x"]), Ok(None), "empty is unset");
        assert_eq!(
            env("soon", &["--stop-delay", "2", "x"]),
            Ok(Some(Duration::from_secs(2))),
            "the option wins, unread variable"
        );
        assert_eq!(
            env("soon", &["x"]),
            Err("invalid duration 'soon' in REAPER_STOP_DELAY (see 'reaper --help')".into())
        );
        assert!(usage_error(&["--stop-delay", "-1", "x"]).contains("'-1' for --stop-delay"));
        assert!(usage_error(&["-P", "--stop-delay", "1"]).contains("--pause"));
    }

    #[test]
    fn restart_signal_refuses_what_ends_or_cannot_be_taken() {
        assert_eq!(config(&["true"]).restart_signal, None);
        let c = config(&["--restart-signal", "HUP", "true"]);
        assert_eq!(c.restart_signal, Some(libc::SIGHUP));
        let c = config(&["--restart-signal=rtmin+2", "true"]);
        assert_eq!(c.restart_signal, Some(signo::RTMIN + 2));
        for bad in ["TERM", "SIGINT", "3", "KILL", "STOP", "CHLD", "SEGV"] {
            let e = usage_error(&["--restart-signal", bad, "x"]);
            assert!(
                e.contains(&format!("signal '{bad}' cannot be the restart signal")),
                "{e}"
            );
            assert!(!e.contains('\n'), "one line: {e}");
        }
        assert!(usage_error(&["--restart-signal", "0", "x"]).contains("unknown signal '0'"));
        assert!(usage_error(&["--restart-signal", "FOO", "x"]).contains("unknown signal"));
        let env = |v: &str| match parse_with(&["x"], &[("REAPER_RESTART_SIGNAL", v)]) {
            Ok(Request::Run(c)) => Ok(c.restart_signal),
            Err(e) => Err((e.status(), e.to_string())),
            other => panic!("{other:?}"),
        };
        assert_eq!(env("USR2"), Ok(Some(libc::SIGUSR2)));
        assert_eq!(env(""), Ok(None));
        assert_eq!(
            env("QUIT"),
            Err((
                2,
                "signal 'QUIT' cannot be the restart signal: it asks the container to end (see 'reaper --help')".into()
            ))
        );
    }

    #[test]
    fn help_lists_every_option_once() {
        let help = help();
        let block: Vec<&str> = help
            .lines()
            .skip_while(|l| *l != "Options:")
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        let terms: Vec<&str> = block
            .iter()
            .filter(|l| !l.starts_with(&" ".repeat(31)))
            .map(|l| l[2..30].trim_end())
            .collect();
        assert_eq!(terms.len(), OPTIONS.len(), "{help}");
        for (o, term) in OPTIONS.iter().zip(&terms) {
            if let Some(c) = o.short {
                assert!(term.starts_with(&format!("-{}", c as char)), "{term}");
            }
            if let Some(l) = o.long {
                assert!(term.contains(&format!("--{l}")), "{term}");
            }
        }
        // Every option's text starts in the same column; a term too wide for its column
        // stands alone, its text on the next line.
        for (i, line) in block.iter().enumerate() {
            let alone = line.len() >= 30 && line.as_bytes().get(30) != Some(&b' ');
            let text = if alone {
                assert_eq!(line.len(), line.trim_end().len(), "{line:?}");
                block.get(i + 1).copied().unwrap_or_default()
            } else {
                line
            };
            assert_eq!(text.as_bytes().get(30), Some(&b' '), "{line:?}");
            assert_ne!(text.as_bytes().get(31), Some(&b' '), "{line:?}");
        }
    }
}
