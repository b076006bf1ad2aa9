//! The command line seen from outside: usage errors start nothing, --help and --version.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::harness::{As, BOTH, Run, Sandbox, reaper, sh};

#[test]
fn usage_errors_exit_2_with_one_line_and_start_nothing() {
    let sandbox = Sandbox::new("usage");
    let marker = sandbox.file("started");
    let cases: &[(&[&str], &str)] = &[
        (&["--bogus"], "'--bogus'"),
        (&["-x"], "'-x'"),
        (&["-t", "abc"], "'abc'"),
        (&["--grace-period=-1"], "'-1'"),
        (&["-e", "256"], "'256'"),
        (&["-e", "-3"], "'-3'"),
        (&["-p", "NOTASIGNAL"], "'NOTASIGNAL'"),
        (&["-r", "TERM"], "'TERM'"),
        (&["-r", "KILL:TERM"], "SIGKILL"),
        (&["-P", "--"], "'touch'"),
    ];
    for (opts, word) in cases {
        let out = reaper(As::Pid1).args(*opts).args(["touch", &marker]).run();
        assert_eq!(out.code, 2, "{opts:?}: {out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{opts:?}: {out:?}");
        assert!(out.stderr.starts_with("reaper: "), "{opts:?}: {out:?}");
        assert!(
            out.stderr.contains(word),
            "{opts:?} should name {word}: {out:?}"
        );
        assert!(out.stderr.contains("--help"), "{opts:?}: {out:?}");
        assert!(out.stdout.is_empty());
        assert!(
            !sandbox.path("started").exists(),
            "{opts:?} started the command"
        );
    }
    let out = reaper(As::Pid1).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "reaper: no command given (see 'reaper --help')\n"
    );
    let out = reaper(As::Pid1)
        .arg("touch")
        .arg(&marker)
        .env("REAPER_GRACE_PERIOD", "abc")
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("'abc'") && out.stderr.contains("REAPER_GRACE_PERIOD"),
        "{out:?}"
    );
    assert!(!sandbox.path("started").exists());
}

#[test]
fn option_parsing_stops_at_the_command() {
    // `-c` belongs to sh, not to reaper (where it would mean --single-child).
    let out = reaper(As::Pid1)
        .args(["sh", "-c", "echo \"$0:$1\"", "-v", "--bogus"])
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "-v:--bogus\n");
    let out = reaper(As::Pid1)
        .args(["-v", "--", "sh", "-c", "exit 4"])
        .run();
    assert_eq!(out.code, 4, "{out:?}");
}

#[test]
fn help_and_version() {
    let out = reaper(As::Pid1).arg("--help").run();
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.starts_with("reaper: PID 1 for containers"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("Usage: reaper [OPTIONS] [--] COMMAND [ARG]...")
    );
    assert!(out.stderr.is_empty());
    let out = reaper(As::Pid1).arg("-V").run();
    assert_eq!(out.code, 0);
    // The form `docker info` parses: "<name> version X.Y.Z - git.<commit without dots>".
    let line = out.stdout.trim_end();
    let (version, commit) = line.split_once(" - ").expect("' - ' separator");
    assert_eq!(
        version,
        format!("reaper version {}", env!("CARGO_PKG_VERSION"))
    );
    let commit = commit.strip_prefix("git.").expect("git. prefix");
    assert!(
        !commit.is_empty() && !commit.contains('.') && !commit.contains(' '),
        "{line}"
    );
    assert_eq!(out.stdout.lines().count(), 1);
}

/// Variables for a run, as (name, value) pairs.
type Vars = &'static [(&'static str, &'static str)];

fn with_env(run: Run, vars: Vars) -> Run {
    vars.iter().fold(run, |run, (k, v)| run.env(k, v))
}

/// tini's and dumb-init's spellings of the log level, and reaper's own: each run is
/// (variables, options before the command, its exit status, what stderr shows), and
/// reaper passes the status on.
#[test]
fn tini_and_dumb_init_spellings_work() {
    let runs: &[(Vars, &[&str], i32, &[&str])] = &[
        // -vv is debug: the teardown says at that level that nothing was left.
        (&[], &["-s", "-g", "-vv", "--"], 6, &["reaper: debug: "]),
        (
            &[("TINI_VERBOSITY", "2")],
            &[],
            0,
            &["main child exited with status 0"],
        ),
        (&[("DUMB_INIT_DEBUG", "1")], &[], 0, &["reaper: debug: "]),
        (
            &[("REAPER_LOG", "info")],
            &[],
            0,
            &["main child exited with status 0"],
        ),
        (
            &[("TINI_VERBOSITY", "-1")],
            &[],
            5,
            &["warning: ignoring TINI_VERBOSITY='-1'"],
        ),
        (
            &[("REAPER_LOG", "a=b=c")],
            &[],
            5,
            &["warning: ignoring REAPER_LOG='a=b=c'"],
        ),
        // An empty REAPER_LOG (as compose files often leave it) is as if it were unset:
        // warnings still show, and -v still works.
        (
            &[("REAPER_LOG", ""), ("TINI_VERBOSITY", "bad")],
            &["-v"],
            0,
            &[
                "warning: ignoring TINI_VERBOSITY",
                "main child exited with status 0",
            ],
        ),
    ];
    for (vars, opts, code, shows) in runs {
        let out = with_env(reaper(As::Pid1), vars)
            .args(*opts)
            .args(sh(&format!("exit {code}")))
            .run();
        assert_eq!(out.code, *code, "{vars:?} {opts:?}: {out:?}");
        for shown in *shows {
            assert!(
                out.stderr.contains(shown),
                "{vars:?} {opts:?} should show {shown:?}: {out:?}"
            );
        }
    }
}

#[test]
fn default_output_is_silent() {
    let out = reaper(As::Pid1)
        .args(["sh", "-c", "echo app; exit 0"])
        .run();
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "app\n", "")
    );
    let out = reaper(As::Subreaper).args(["sh", "-c", "exit 0"]).run();
    assert_eq!(out.stderr, "", "nested under another init must be quiet");
}

#[test]
fn the_options_reference_shows_the_help_as_it_is() {
    let reference =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/options.md")).unwrap();
    let start = reference
        .find("```text\nreaper: PID 1 for containers")
        .expect("help block in doc/options.md")
        + 8;
    let len = reference[start..]
        .find("```")
        .expect("end of the help block");
    let out = reaper(As::Pid1).arg("--help").run();
    assert_eq!(
        reference[start..start + len],
        out.stdout,
        "doc/options.md's options block differs from --help"
    );
}

/// Every option and variable of tini 0.19, dumb-init 1.2.5 and catatonit works in reaper
/// with the meaning it has there (issue 12.5), or is warned about by name.
#[test]
fn every_peer_option_and_variable_is_accepted() {
    // (peer, words before the command, reaper's status with `exit 7`, what stderr shows)
    let runs: &[(&str, &[&str], i32, &str)] = &[
        ("tini", &["-s"], 7, ""),
        ("tini", &["-p", "SIGKILL"], 7, ""),
        ("tini", &["-v"], 7, "main child exited with status 7"),
        ("tini", &["-vvv"], 7, "reaper: debug: "),
        ("tini", &["-w"], 7, ""),
        ("tini", &["-g"], 7, ""),
        ("tini", &["-e", "7"], 0, ""),
        ("dumb-init", &["-c"], 7, ""),
        ("dumb-init", &["--single-child"], 7, ""),
        ("dumb-init", &["-r", "15:2"], 7, ""),
        ("dumb-init", &["--rewrite", "15:2"], 7, ""),
        ("dumb-init", &["-v"], 7, "main child exited with status 7"),
        (
            "dumb-init",
            &["--verbose"],
            7,
            "main child exited with status 7",
        ),
        ("catatonit", &["-g"], 7, ""),
    ];
    for (peer, opts, code, shows) in runs {
        let out = reaper(As::Pid1)
            .args(*opts)
            .args(["--", "sh", "-c", "exit 7"])
            .run();
        assert_eq!(out.code, *code, "{peer} {opts:?}: {out:?}");
        assert!(out.stderr.contains(shows), "{peer} {opts:?}: {out:?}");
        assert!(!out.stderr.contains("warning"), "{peer} {opts:?}: {out:?}");
    }
    // Options that print and exit 0: help, version, licence.
    let prints: &[(&str, &str, &str)] = &[
        ("tini", "-h", "Usage: reaper"),
        ("tini", "--version", "reaper version "),
        ("tini", "-l", "MIT"),
        ("dumb-init", "-h", "Usage: reaper"),
        ("dumb-init", "--help", "Usage: reaper"),
        ("dumb-init", "-V", "reaper version "),
        ("dumb-init", "--version", "reaper version "),
        ("catatonit", "-h", "Usage: reaper"),
        ("catatonit", "-L", "MIT"),
        ("catatonit", "-V", "reaper version "),
        ("catatonit", "--version", "reaper version "),
    ];
    for (peer, opt, shows) in prints {
        let out = reaper(As::Pid1).args([*opt, "false"]).run();
        assert_eq!(out.code, 0, "{peer} {opt}: {out:?}");
        assert!(out.stdout.contains(shows), "{peer} {opt}: {out:?}");
        assert!(out.stderr.is_empty(), "{peer} {opt}: {out:?}");
    }
    let out = reaper(As::Pid1).arg("-l").run();
    assert!(
        out.stdout.contains("MIT") && out.stdout.contains("Apache License, Version 2.0"),
        "{out:?}"
    );
    // catatonit's -P: pause until SIGTERM, then 0.
    let run = reaper(As::Pid1).arg("-P").start();
    run.signal(libc::SIGTERM);
    let out = run.wait();
    assert_eq!(out.code, 0, "catatonit -P: {out:?}");
    // Variables: (peer, name, value, what stderr shows)
    let variables: &[(&str, &str, &str, &str)] = &[
        ("tini", "TINI_SUBREAPER", "1", ""),
        ("tini", "TINI_KILL_PROCESS_GROUP", "1", ""),
        (
            "tini",
            "TINI_VERBOSITY",
            "2",
            "main child exited with status 7",
        ),
        ("dumb-init", "DUMB_INIT_SETSID", "0", ""),
        ("dumb-init", "DUMB_INIT_SETSID", "1", ""),
        ("dumb-init", "DUMB_INIT_DEBUG", "1", "reaper: debug: "),
        ("catatonit", "CATATONIT_DEBUG", "1", "reaper: debug: "),
        ("catatonit", "CATATONIT_DEBUG", "yes", "reaper: debug: "),
        (
            "catatonit",
            "CATATONIT_LOG",
            "x",
            "warning: ignoring CATATONIT_LOG",
        ),
    ];
    for (peer, name, value, shows) in variables {
        let out = reaper(As::Pid1)
            .env(name, value)
            .args(["sh", "-c", "exit 7"])
            .run();
        assert_eq!(out.code, 7, "{peer} {name}={value}: {out:?}");
        assert!(out.stderr.contains(shows), "{peer} {name}={value}: {out:?}");
        if !shows.contains("warning") {
            assert!(!out.stderr.contains("warning"), "{peer} {name}: {out:?}");
        }
    }
}

/// An option's value reaches reaper byte for byte, as arguments and the environment do:
/// `--workdir $'/tmp/…/\xff'` enters that directory, not one named with U+FFFD; an option
/// whose value must be text refuses one that is not, in one line (issue 18.9).
#[test]
fn option_values_reach_reaper_byte_for_byte() {
    let sandbox = Sandbox::new("bytes");
    let dir = [sandbox.dir.as_os_str().as_bytes(), b"/\xff"].concat();
    std::fs::create_dir(OsStr::from_bytes(&dir)).unwrap();
    // pwd's output, newline included, in hex.
    let hex: String = dir
        .iter()
        .chain(b"\n")
        .map(|b| format!("{b:02x}"))
        .collect();
    for mode in BOTH {
        for args in [
            vec![b"--workdir".to_vec(), dir.clone()],
            vec![[b"--workdir=".as_slice(), &dir].concat()],
        ] {
            let out = reaper(mode)
                .args(args.iter().map(|a| OsStr::from_bytes(a)))
                .args(sh("pwd -P | od -An -tx1 | tr -d ' \\n'"))
                .run();
            assert_eq!(
                (out.code, out.stdout.as_str()),
                (0, hex.as_str()),
                "{mode:?}: {out:?}"
            );
        }
        let out = reaper(mode)
            .arg("-t")
            .arg(OsStr::from_bytes(b"5\xff"))
            .args(sh("exit 0"))
            .run();
        assert_eq!(out.code, 2, "{out:?}");
        assert_eq!(
            out.stderr,
            "reaper: invalid value '5\\xff' for --grace-period: not UTF-8 text (see 'reaper --help')\n"
        );
    }
}

/// With `--pause` there is no command, so an option about it is a usage error, not
/// silently ignored (issue 18.10).
#[test]
fn options_for_the_command_are_usage_errors_with_pause() {
    for mode in BOTH {
        for (args, named) in [
            (&["--pause", "--user", "nobody"][..], "--user"),
            (&["-P", "--workdir", "/"], "--workdir"),
            (&["-P", "--wait-all"], "--wait-all"),
            (&["-P", "-c"], "-c"),
            (&["-P", "-e", "3"], "-e"),
        ] {
            let out = reaper(mode).args(args).run();
            assert_eq!(out.code, 2, "{args:?} as {mode:?}: {out:?}");
            assert_eq!(
                out.stderr,
                format!(
                    "reaper: option '{named}' concerns the command, and --pause runs none (see 'reaper --help')\n"
                ),
                "{args:?}"
            );
        }
    }
}

/// An option wins over its variable, which is then not read: a bad value there does not
/// stop a reaper given the option (issue 18.10). Each run is (the variable, the option,
/// the script, its status and stdout), with nothing on stderr.
#[test]
fn an_option_wins_over_its_variable_unread() {
    let runs: &[(Vars, &[&str], &str, i32, &str)] = &[
        (
            &[("REAPER_GRACE_PERIOD", "abc")],
            &["-t", "1"],
            "exit 3",
            3,
            "",
        ),
        (
            &[("REAPER_WAIT_ALL", "maybe")],
            &["--wait-all"],
            "exit 4",
            4,
            "",
        ),
        (
            &[("REAPER_WORKDIR", "/nonexistent")],
            &["--workdir", "/"],
            "pwd",
            0,
            "/\n",
        ),
    ];
    for mode in BOTH {
        for (vars, opts, script, code, stdout) in runs {
            let out = with_env(reaper(mode), vars)
                .args(*opts)
                .args(sh(script))
                .run();
            assert_eq!(
                (out.code, out.stdout.as_str(), out.stderr.as_str()),
                (*code, *stdout, ""),
                "{vars:?} {opts:?} as {mode:?}: {out:?}"
            );
        }
    }
}

/// What was asked for and could not be written is an error: status 1 and one line, as
/// coreutils (`ls --version >/dev/full`), never 0 (issue 18.17).
#[test]
fn help_and_version_that_cannot_be_written_fail() {
    for (mode, opt) in BOTH
        .into_iter()
        .flat_map(|m| ["--help", "--version", "-l"].map(|o| (m, o)))
    {
        let out = reaper(mode)
            .arg(opt)
            .stdio(|c| {
                let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
                c.stdout(full.expect("open /dev/full"));
            })
            .run();
        assert_eq!(out.code, 1, "{opt} as {mode:?}: {out:?}");
        assert_eq!(
            out.stderr, "reaper: write error: No space left on device\n",
            "{opt} as {mode:?}: {out:?}"
        );
    }
}
