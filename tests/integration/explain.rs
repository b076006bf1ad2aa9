//! `--explain`: what reaper would do, one `key: value` a line, and nothing started.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{As, BOTH, Outcome, Sandbox, reaper, testkit_str};

/// The value of the `key: value` line of `--explain`'s output.
pub fn value<'a>(out: &'a Outcome, key: &str) -> &'a str {
    let prefix = format!("{key}: ");
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no '{key}' line in {out:?}"))
}

#[test]
fn it_prints_the_configuration_and_where_each_setting_came_from_and_starts_nothing() {
    for mode in BOTH {
        let sandbox = Sandbox::new("explain");
        let marker = sandbox.file("started");
        let out = reaper(mode)
            .env("REAPER_WAIT_ALL", "1")
            .env("DUMB_INIT_SETSID", "0")
            .args([
                "--explain",
                "-t",
                "2",
                "-e",
                "3",
                "-e",
                "4",
                "-r",
                "TERM:QUIT",
            ])
            .args(["--", "touch", &marker, "a b"])
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(out.stderr, "", "{mode:?}");
        assert!(!sandbox.path("started").exists(), "{mode:?}: started");
        for line in out.stdout.lines() {
            let (key, _) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
            assert!(
                key.bytes().all(|c| c.is_ascii_lowercase() || c == b'-'),
                "{line:?}"
            );
        }
        assert_eq!(value(&out, "command"), format!("touch {marker} 'a b'"));
        let program = value(&out, "program");
        assert!(
            program.starts_with('/') && program.ends_with("/touch"),
            "{out:?}"
        );
        assert_eq!(value(&out, "uid"), "0");
        assert_eq!(value(&out, "gid"), "0");
        assert_eq!(
            value(&out, "signals"),
            "the command only; once it has exited, every process left"
        );
        let init = value(&out, "init");
        match mode {
            As::Pid1 => assert_eq!(init, "PID 1"),
            As::Subreaper => assert!(init.starts_with("subreaper (pid "), "{init}"),
        }
        assert_eq!(value(&out, "grace-period"), "2 (option -t)");
        assert_eq!(value(&out, "remap-exit"), "3 4 (option -e)");
        assert_eq!(value(&out, "rewrite"), "TERM:QUIT (option -r)");
        assert_eq!(value(&out, "wait-all"), "on (variable REAPER_WAIT_ALL)");
        assert_eq!(
            value(&out, "single-child"),
            "on (variable DUMB_INIT_SETSID)"
        );
        assert_eq!(value(&out, "user"), "none (default)");
        assert_eq!(value(&out, "expand-env"), "off (default)");
        assert_eq!(value(&out, "log-level"), "warn");
    }
    let out = reaper(As::Pid1).args(["--explain", "true"]).run();
    assert_eq!(value(&out, "grace-period"), "5s (default)", "{out:?}");
    assert_eq!(value(&out, "signals"), "the command's process group");
    assert_eq!(value(&out, "wait-all"), "off (default)");
}

#[test]
fn it_shows_the_command_after_expansion_and_path_search() {
    for mode in BOTH {
        let out = reaper(mode)
            .env("PORT", "8080")
            .env("REAPER_EXPAND_ENV", "yes")
            .args(["--explain", "${APP:-true}", "--port=${PORT}", "$$"])
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(value(&out, "command"), "true --port=8080 '$'");
        assert!(value(&out, "program").ends_with("/true"), "{out:?}");
        assert_eq!(value(&out, "expand-env"), "on (variable REAPER_EXPAND_ENV)");
        let out = reaper(mode).args(["--explain", "--pause"]).run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(
            value(&out, "command").starts_with("none (--pause"),
            "{out:?}"
        );
        assert_eq!(value(&out, "pause"), "on (option --pause)");
    }
}

/// The start's own errors, found without starting: bad input is status 2 with its line
/// and nothing on stdout; a command that cannot be run is its line on stdout and the
/// status the start would give (127, 126).
#[test]
fn what_would_fail_at_start_fails_the_same() {
    let sandbox = Sandbox::new("explain-fail");
    let script = sandbox.write("not-executable", "#!/bin/sh\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).unwrap();
    for mode in BOTH {
        let out = reaper(mode).args(["--explain", "no-such-command-x"]).run();
        assert_eq!(out.code, 127, "{mode:?}: {out:?}");
        let why = "cannot run 'no-such-command-x': No such file or directory";
        assert_eq!(value(&out, "program"), format!("none: {why}"));
        assert_eq!(out.stderr, format!("reaper: {why}\n"));
        assert_eq!(
            value(&out, "grace-period"),
            "5s (default)",
            "the rest is shown"
        );
        let out = reaper(mode).args(["--explain", &script]).run();
        assert_eq!(out.code, 126, "{mode:?}: {out:?}");
        assert!(
            value(&out, "program").ends_with("Permission denied"),
            "{out:?}"
        );
        let out = reaper(mode).args(["--explain", "/"]).run();
        assert_eq!(out.code, 126, "{mode:?}: {out:?}");
        for (args, says) in [
            (&["--explain", "-t", "abc", "true"][..], "'abc'"),
            (&["--explain"], "no command given"),
            (
                &["--explain", "--expand-env", "true", "${DB:?need DB}"],
                "reaper: DB: need DB",
            ),
            (
                &["--explain", "--expand-env", "true", "${DB"],
                "unterminated",
            ),
        ] {
            let out = reaper(mode).args(args).run();
            assert_eq!(out.code, 2, "{args:?}: {out:?}");
            assert_eq!(out.stdout, "", "{args:?}");
            assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {out:?}");
            assert!(out.stderr.contains(says), "{args:?}: {out:?}");
        }
    }
}

/// Every value of a repeatable option counts, so every one is shown (`--exec-allow`,
/// `--bind-tcp-allow` and `--connect-tcp-allow` say "(repeatable;" in their help), and a
/// default the help states in other words is shown as a value (`--on-oom`).
#[test]
fn every_value_of_a_repeatable_landlock_option_and_the_oom_default_are_shown() {
    for mode in BOTH {
        let out = reaper(mode)
            // Best effort: shown where Landlock is not (qemu-user), too.
            .args(["--explain", "--sandbox-best-effort"])
            .args(["--exec-allow", "/usr", "--exec-allow", "/bin"])
            .args(["--bind-tcp-allow", "80", "--bind-tcp-allow", "81"])
            .args(["--connect-tcp-allow", "1", "--connect-tcp-allow", "2"])
            .args(["--write-allow", "/tmp", "--write-allow", "/var"])
            .arg("true")
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(value(&out, "exec-allow"), "/usr /bin (option --exec-allow)");
        assert_eq!(
            value(&out, "bind-tcp-allow"),
            "80 81 (option --bind-tcp-allow)"
        );
        assert_eq!(
            value(&out, "connect-tcp-allow"),
            "1 2 (option --connect-tcp-allow)"
        );
        assert_eq!(
            value(&out, "write-allow"),
            "/tmp /var (option --write-allow)"
        );
        assert_eq!(value(&out, "on-oom"), "continue (default)", "{mode:?}");
    }
}

/// `--pause --on-oom exit` writes the termination log when the out-of-memory killer ends
/// the pod, so `--termination-log` is no option about the command: with `--pause` it
/// chooses the file, or turns it off, as it does with a command.
#[test]
fn with_pause_the_termination_log_can_be_chosen_or_turned_off() {
    for mode in BOTH {
        let out = reaper(mode)
            .args(["--explain", "--pause", "--on-oom", "exit"])
            .args(["--termination-log", "none"])
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(
            value(&out, "termination-log"),
            "none (option --termination-log)"
        );
        assert_eq!(value(&out, "on-oom"), "exit (option --on-oom)");
    }
}

/// The Landlock options are checked as the start checks them (issue 25: `--explain` shows
/// what is in force): what would stop the start (a command outside `--exec-allow`, a path
/// that cannot be opened, no Landlock) stops `--explain` with the same line and status 2;
/// with `--sandbox-best-effort` what would be left out is a warning line; and the line
/// `landlock` names the ABI the kernel serves.
#[test]
fn landlock_options_are_checked_as_the_start_checks_them() {
    let no_landlock = [
        testkit_str(),
        "seccomp".into(),
        "ENOSYS".into(),
        "landlock_create_ruleset,landlock_add_rule,landlock_restrict_self".into(),
    ];
    for mode in BOTH {
        for (args, says) in [
            (
                &["--exec-allow", "/nonexistent/dir"][..],
                "--exec-allow: 'true' (",
            ),
            (
                &["--write-allow", "/nonexistent/dir"],
                "--write-allow: '/nonexistent/dir': No such file or directory",
            ),
        ] {
            let out = reaper(mode).arg("--explain").args(args).arg("true").run();
            assert_eq!(out.code, 2, "{mode:?} {args:?}: {out:?}");
            assert!(out.stderr.contains(says), "{mode:?}: {out:?}");
            assert_eq!(out.stdout, "", "{mode:?}");
        }
        let out = reaper(mode)
            .args(["--explain", "--write-allow", "/tmp", "true"])
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(value(&out, "landlock").starts_with("ABI "), "{out:?}");
        let out = reaper(mode)
            .wrap(no_landlock.clone())
            .args(["--explain", "--write-allow", "/tmp", "true"])
            .run();
        assert_eq!(out.code, 2, "{mode:?}: {out:?}");
        assert!(
            out.stderr.contains("this kernel has no Landlock"),
            "{out:?}"
        );
        let out = reaper(mode)
            .wrap(no_landlock.clone())
            .args([
                "--explain",
                "--sandbox-best-effort",
                "--write-allow",
                "/tmp",
            ])
            .arg("true")
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(value(&out, "landlock").starts_with("none: "), "{out:?}");
        assert!(
            value(&out, "warning").ends_with("left out (--sandbox-best-effort)"),
            "{out:?}"
        );
    }
    let out = reaper(As::Pid1).args(["--explain", "true"]).run();
    assert!(!out.stdout.contains("landlock: "), "{out:?}");
}
