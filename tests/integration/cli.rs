//! The command line seen from outside: usage errors start nothing, --help and --version.

use crate::harness::{As, Sandbox, reaper};

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

#[test]
fn tini_and_dumb_init_spellings_work() {
    let out = reaper(As::Pid1)
        .args(["-s", "-g", "-vv", "--", "sh", "-c", "exit 6"])
        .run();
    assert_eq!(out.code, 6, "{out:?}");
    // -vv is debug: the teardown says at that level that nothing was left.
    assert!(out.stderr.contains("reaper: debug: "), "{out:?}");
    let out = reaper(As::Pid1)
        .env("TINI_VERBOSITY", "2")
        .args(["sh", "-c", "exit 0"])
        .run();
    assert!(
        out.stderr.contains("main child exited with status 0"),
        "{out:?}"
    );
    let out = reaper(As::Pid1)
        .env("DUMB_INIT_DEBUG", "1")
        .args(["sh", "-c", "exit 0"])
        .run();
    assert!(out.stderr.contains("reaper: debug: "), "{out:?}");
    let out = reaper(As::Pid1)
        .env("REAPER_LOG", "info")
        .args(["sh", "-c", "exit 0"])
        .run();
    assert!(
        out.stderr.contains("main child exited with status 0"),
        "{out:?}"
    );
    let out = reaper(As::Pid1)
        .env("TINI_VERBOSITY", "-1")
        .args(["sh", "-c", "exit 5"])
        .run();
    assert_eq!(out.code, 5);
    assert!(
        out.stderr.contains("warning: ignoring TINI_VERBOSITY='-1'"),
        "{out:?}"
    );
    let out = reaper(As::Pid1)
        .env("REAPER_LOG", "a=b=c")
        .args(["sh", "-c", "exit 5"])
        .run();
    assert_eq!(out.code, 5);
    assert!(
        out.stderr.contains("warning: ignoring REAPER_LOG='a=b=c'"),
        "{out:?}"
    );
}

/// An empty REAPER_LOG (as compose files often leave it) is as if it were unset: warnings
/// still show, and -v still works.
#[test]
fn an_empty_reaper_log_is_unset() {
    let out = reaper(As::Pid1)
        .env("REAPER_LOG", "")
        .env("TINI_VERBOSITY", "bad")
        .args(["-v", "sh", "-c", "exit 0"])
        .run();
    assert!(
        out.stderr.contains("warning: ignoring TINI_VERBOSITY"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("main child exited with status 0"),
        "{out:?}"
    );
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
