//! `--restart-signal` (issue 22.6): on the signal, the app's group gets SIGTERM, the grace
//! period and SIGKILL, and the command starts again with the same arguments, environment
//! and directory (and terminal foreground); reaper's status is the last run's. A second
//! restart signal during a restart is ignored; a signal that asks to end during one means
//! no new run. (The unit tests in src/supervise.rs go through every transition; these run
//! the real thing, as PID 1 and as a subreaper.)

use std::fs::File;
use std::time::Duration;

use crate::harness::{As, BOTH, Running, Sandbox, reaper, sh};

/// Each run logs `run PID X DIR` once its SIGTERM handler is set, starts a member of its group (that ignores SIGTERM when
/// `STUBBORN` is set), which logs itself once ready, says whether the last run's member is still there (a zombie included), and
/// exits with its run's number on SIGTERM, once the file `go` exists (the first run's
/// handler waits for it).
const APP: &str = r#"
n=$(( $(grep -c '^run ' log 2>/dev/null) + 1 ))
old=$(sed -n 's/^member //p' log 2>/dev/null | tail -n 1)
[ -n "$old" ] && kill -0 "$old" 2>/dev/null && echo "alive $old" >> log
trap 'echo "term $$" >> log; while [ ! -e go ]; do sleep 0.02; done; exit $n' TERM
echo "run $$ $X $(pwd)" >> log
sh -c '[ -n "$STUBBORN" ] && trap "" TERM; echo "member $$" >> log; exec sleep 1000' &
while :; do sleep 0.02; done
"#;

fn start(mode: As, sandbox: &Sandbox, opts: &[&str], stubborn: &str) -> Running {
    let err = File::create(sandbox.path("stderr")).unwrap();
    reaper(mode)
        .env("STUBBORN", stubborn)
        .args(["--restart-signal", "HUP", "-v", "--workdir"])
        .arg(&sandbox.dir)
        .args(opts)
        .env("X", "same-env")
        .stdio(move |c| {
            c.stderr(err);
        })
        .args(sh(APP))
        .timeout(Duration::from_secs(40))
        .start()
}

fn runs(sandbox: &Sandbox) -> Vec<String> {
    let log = sandbox.read("log");
    log.lines()
        .filter(|l| l.starts_with("run "))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_restart_signal_runs_the_command_again_and_the_last_run_gives_the_status() {
    for mode in BOTH {
        let sandbox = Sandbox::new("restart");
        std::fs::write(sandbox.path("go"), "").unwrap();
        let log = sandbox.path("log");
        let mut run = start(mode, &sandbox, &["-t", "0.5"], "1");
        run.wait_for_file(&log, "run ");
        run.wait_for_file(&log, "member ");
        run.signal(libc::SIGHUP);
        run.poll("a second run", || (runs(&sandbox).len() == 2).then_some(()));
        run.poll("its member", || {
            (sandbox.read("log").matches("member ").count() == 2).then_some(())
        });
        let text = sandbox.read("log");
        let runs = runs(&sandbox);
        let first_pid = runs[0].split(' ').nth(1).unwrap();
        assert!(
            text.contains(&format!("term {first_pid}\n")),
            "{mode:?}: {text}"
        );
        assert!(
            !text.contains("alive "),
            "{mode:?}: the old member, SIGKILLed, is reaped: {text}"
        );
        let dir = sandbox.dir.display().to_string();
        for r in &runs {
            assert!(r.ends_with(&format!(" same-env {dir}")), "{mode:?}: {r}");
        }
        assert_ne!(runs[0], runs[1], "a new process");
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 2, "{mode:?}: the second run's status: {out:?}");
        let err = sandbox.read("stderr");
        assert!(
            err.contains("restart: sent SIGKILL"),
            "{mode:?}: {err}\n{}",
            sandbox.read("log")
        );
    }
}

#[test]
fn during_a_restart_the_restart_signal_is_ignored_and_an_ending_one_means_no_new_run() {
    for mode in BOTH {
        let sandbox = Sandbox::new("restart-end");
        let log = sandbox.path("log");
        let errs = sandbox.path("stderr");
        // An hour: the restart must end with the old run, not with its grace period.
        let mut run = start(mode, &sandbox, &["-t", "1h"], "");
        run.wait_for_file(&log, "run ");
        run.wait_for_file(&log, "member ");
        run.signal(libc::SIGHUP);
        run.wait_for_file(&log, "term ");
        run.signal(libc::SIGHUP);
        run.wait_for_file(&errs, "ignoring SIGHUP");
        run.signal(libc::SIGTERM);
        run.wait_for_file(&errs, "SIGTERM received during a restart: no new run");
        std::fs::write(sandbox.path("go"), "").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 1, "{mode:?}: the old run's status: {out:?}");
        assert_eq!(runs(&sandbox).len(), 1, "{mode:?}: {}", sandbox.read("log"));
    }
}

#[test]
fn a_restarted_app_runs_as_the_same_user() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return crate::harness::cannot_run("switching users needs real root");
    }
    use std::os::unix::fs::PermissionsExt;
    for mode in BOTH {
        let sandbox = Sandbox::new("restart-user");
        std::fs::set_permissions(&sandbox.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let log = sandbox.path("log");
        // Numeric ids need no account files.
        let mut run = reaper(mode)
            .args([
                "--restart-signal",
                "USR2",
                "--user",
                "12345:12346",
                "--workdir",
            ])
            .arg(&sandbox.dir)
            .args(sh(
                r#"echo "run $(id -u):$(id -g):$(id -G)" >> log; exec sleep 1000"#,
            ))
            .start();
        run.wait_for_file(&log, "run ");
        run.signal(libc::SIGUSR2);
        run.poll("a second run", || {
            (sandbox.read("log").matches("run ").count() == 2).then_some(())
        });
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 143, "{mode:?}: {out:?}");
        let text = sandbox.read("log");
        assert_eq!(
            text, "run 12345:12346:12346\nrun 12345:12346:12346\n",
            "{mode:?}"
        );
    }
}

/// The termination log tells why the last run failed: a restarted run that cannot run
/// (its program gone, say after an upgrade in place) is "cannot run", as a first start
/// would be, not "exited with status 127"; a restart that cannot start at all (a
/// `--write-allow` path gone) says why too, beside status 1.
#[test]
fn the_termination_log_says_why_a_restarted_run_could_not_run() {
    for mode in BOTH {
        for (gone, code, why) in [
            (
                "app",
                127,
                "cannot run '{app}': No such file or directory\n",
            ),
            (
                "data",
                1,
                "--write-allow: '{data}': No such file or directory",
            ),
        ] {
            let sandbox = Sandbox::new("restart-tlog");
            let app = sandbox.path("app");
            let data = sandbox.path("data");
            std::fs::copy("/bin/sleep", &app).unwrap();
            std::fs::create_dir(&data).unwrap();
            let tlog = sandbox.write("tlog", "");
            let errs = sandbox.path("stderr");
            let err = File::create(&errs).unwrap();
            let mut run = reaper(mode)
                .args(["--restart-signal", "HUP", "-v", "-t", "0.5"])
                .args(["--termination-log", &tlog, "--write-allow"])
                .arg(&data)
                .stdio(move |c| {
                    c.stderr(err);
                })
                .arg(&app)
                .arg("1000")
                .timeout(Duration::from_secs(30))
                .start();
            run.wait_for_file(&errs, "started '");
            let path = sandbox.path(gone);
            if gone == "app" {
                std::fs::remove_file(&path).unwrap();
            } else {
                std::fs::remove_dir(&path).unwrap();
            }
            run.signal(libc::SIGHUP);
            let out = run.wait();
            assert_eq!(
                out.code,
                code,
                "{mode:?} {gone}: {}",
                sandbox.read("stderr")
            );
            let want = why
                .replace("{app}", &app.display().to_string())
                .replace("{data}", &data.display().to_string());
            let tlog = sandbox.read("tlog");
            assert!(tlog.starts_with(&want), "{mode:?} {gone}: {tlog:?}");
            assert_eq!(tlog.lines().count(), 1, "{mode:?} {gone}: {tlog:?}");
        }
    }
}

/// A signal that asks to end during a restart ends the container with the old run's
/// status, and the termination log says why, as it does for any failed end.
#[test]
fn an_end_during_a_restart_is_explained_in_the_termination_log() {
    for mode in BOTH {
        let sandbox = Sandbox::new("restart-end-tlog");
        let log = sandbox.path("log");
        let errs = sandbox.path("stderr");
        let tlog = sandbox.write("tlog", "");
        let mut run = start(
            mode,
            &sandbox,
            &["-t", "1h", "--termination-log", &tlog],
            "",
        );
        run.wait_for_file(&log, "run ");
        run.wait_for_file(&log, "member ");
        run.signal(libc::SIGHUP);
        run.wait_for_file(&log, "term ");
        run.signal(libc::SIGTERM);
        run.wait_for_file(&errs, "SIGTERM received during a restart: no new run");
        std::fs::write(sandbox.path("go"), "").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 1, "{mode:?}: the old run's status: {out:?}");
        assert_eq!(sandbox.read("tlog"), "exited with status 1\n", "{mode:?}");
    }
}
