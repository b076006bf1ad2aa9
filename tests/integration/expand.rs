//! `--expand-env`: `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$` in the
//! command's words, from the environment the command gets; not a shell.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::harness::{As, BOTH, Sandbox, reaper};

/// A script that prints each of its arguments on a line of its own, in brackets, then the
/// bytes of the last one in hex (to see that they are untouched).
/// (A `${` in it would be expanded too: it has none.)
const SHOW: &str =
    r#"for a; do printf '[%s]\n' "$a"; last=$a; done; printf '%s' "$last" | od -An -tx1"#;

#[test]
fn every_word_is_expanded_and_stays_one_word() {
    for mode in BOTH {
        let out = reaper(mode)
            .env("PORT", "8080")
            .env("SPACE", "a b *")
            .env("SH", "sh")
            .env("EMPTY", "")
            .args(["--expand-env", "--", "${SH:-nosuch}", "-c", SHOW, "sh"])
            .args([
                "--port=${PORT}",
                "${UNSET:-dflt}",
                "${EMPTY:-${PORT}}",
                "${UNSET}",
                "${SPACE}",
                "pa$$word $${PORT}",
                "$PORT $1",
            ])
            .arg(OsStr::from_bytes(b"\xff${PORT}\xfe"))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(
            &lines[..8],
            [
                "[--port=8080]",
                "[dflt]",
                "[8080]",
                "[]",
                "[a b *]",
                "[pa$word ${PORT}]",
                "[$PORT $1]",
                // Not UTF-8: printf copies the bytes, String shows them replaced.
                "[\u{fffd}8080\u{fffd}]",
            ],
            "{mode:?}: {out:?}"
        );
        assert_eq!(lines[8].trim(), "ff 38 30 38 30 fe", "{out:?}");
        assert_eq!(out.stderr, "", "{mode:?}");
    }
}

#[test]
fn the_variable_turns_it_on_and_without_it_words_pass_unchanged() {
    for mode in BOTH {
        let run = |on: Option<&str>| {
            let mut run = reaper(mode).env("PORT", "8080");
            if let Some(on) = on {
                run = run.env("REAPER_EXPAND_ENV", on);
            }
            run.args(["sh", "-c", "printf '%s\\n' \"$1\"", "sh", "${PORT}"])
                .run()
        };
        let out = run(Some("1"));
        assert_eq!((out.code, out.stdout.as_str()), (0, "8080\n"), "{out:?}");
        for off in [None, Some("0"), Some("")] {
            let out = run(off);
            assert_eq!(
                (out.code, out.stdout.as_str()),
                (0, "${PORT}\n"),
                "{off:?}: {out:?}"
            );
        }
    }
}

#[test]
fn a_required_variable_unset_or_empty_is_status_2_with_its_message() {
    for mode in BOTH {
        let sandbox = Sandbox::new("expand-required");
        let marker = sandbox.file("started");
        for env in [None, Some("")] {
            let mut run = reaper(mode);
            if let Some(v) = env {
                run = run.env("DATABASE_URL", v);
            }
            let out = run
                .args(["--expand-env", "touch", &marker])
                .arg("--db=${DATABASE_URL:?set DATABASE_URL to the database's address}")
                .run();
            assert_eq!(out.code, 2, "{mode:?} {env:?}: {out:?}");
            assert_eq!(
                out.stderr,
                "reaper: DATABASE_URL: set DATABASE_URL to the database's address\n"
            );
            assert!(!sandbox.path("started").exists(), "{mode:?}: started");
        }
        let out = reaper(mode)
            .env("DATABASE_URL", "pg://db")
            .args(["--expand-env", "sh", "-c", "printf '%s' \"$1\"", "sh"])
            .arg("${DATABASE_URL:?set it}")
            .run();
        assert_eq!((out.code, out.stdout.as_str()), (0, "pg://db"), "{out:?}");
    }
}

#[test]
fn a_malformed_form_is_a_usage_error_that_names_the_word() {
    let sandbox = Sandbox::new("expand-malformed");
    let marker = sandbox.file("started");
    for mode in BOTH {
        for (word, says) in [
            ("--port=${PORT", "unterminated '${' in '--port=${PORT'"),
            ("${}", "no variable name after '${' in '${}'"),
            ("${1x}", "no variable name after '${' in '${1x}'"),
            ("${PORT:=80}", "unsupported form '${PORT:' in '${PORT:=80}'"),
        ] {
            let out = reaper(mode)
                .args(["--expand-env", "touch", &marker, word])
                .run();
            assert_eq!(out.code, 2, "{word}: {out:?}");
            assert_eq!(out.stderr.lines().count(), 1, "{word}: {out:?}");
            assert!(out.stderr.contains(says), "{word}: {out:?}");
            assert!(!sandbox.path("started").exists(), "{word}: started");
        }
    }
    // As PID 1 or not, --pause runs no command to expand.
    let out = reaper(As::Pid1).args(["-P", "--expand-env"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("'--expand-env'"), "{out:?}");
}
