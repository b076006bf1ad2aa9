//! `--stop-delay` (issue 22.1): the first signal that asks to end is held, while the app
//! keeps getting every other signal; a second one goes at once, in its place; a stopped app
//! is continued after it; with `--wait-all` it goes to every process left. How long the
//! delay really is, is measured by `bench/stop-delay`, not asserted here: these tests only
//! see the order in which signals arrive, and a held signal that never came would be a hang
//! the harness bounds.

use std::time::Duration;

use crate::harness::{
    As, BOTH, Running, Sandbox, both_catchers_get, proc_stat, reaper, sh, testkit_str,
};

/// The signal on which the catchers exit.
const EXIT_SIG: i32 = 64;

/// Starts reaper (`-v`, its log in `stderr`) with `opts` and a `catch` pair (main and
/// member, one group) logging every signal they get, as the main child, or, with
/// `--wait-all`, left behind by a main child that exits at once.
fn start(mode: As, sandbox: &Sandbox, opts: &[&str]) -> Running {
    let log = sandbox.file("signals");
    let err = std::fs::File::create(sandbox.path("stderr")).unwrap();
    let catch = format!("'{}' catch '{log}' {EXIT_SIG}", testkit_str());
    let app = if opts.contains(&"--wait-all") {
        format!("{catch} & exit 0")
    } else {
        format!("exec {catch}")
    };
    let mut run = reaper(mode)
        .arg("-v")
        .args(opts)
        .stdio(move |c| {
            c.stderr(err);
        })
        .args(sh(&app))
        .timeout(Duration::from_secs(30))
        .start();
    run.wait_for_file(&sandbox.path("signals"), "main ready");
    run.wait_for_file(&sandbox.path("signals"), "member ready");
    run
}

/// `start`, then SIGTERM, the first ending signal, sent: returns once reaper's log says
/// it holds it (forwards it in the time of `--stop-delay`).
fn start_holding_sigterm(mode: As, sandbox: &Sandbox, opts: &[&str]) -> Running {
    let mut run = start(mode, sandbox, opts);
    run.signal(libc::SIGTERM);
    run.wait_for_file(
        &sandbox.path("stderr"),
        "SIGTERM received: forwarding it in",
    );
    run
}

#[test]
fn the_first_ending_signal_is_held_while_others_go_at_once() {
    for mode in BOTH {
        for wait_all in [&[][..], &["--wait-all"][..]] {
            let sandbox = Sandbox::new("stop-delay-held");
            let log = sandbox.path("signals");
            let opts = [&["--stop-delay", "1.5s"][..], wait_all].concat();
            let mut run = start_holding_sigterm(mode, &sandbox, &opts);
            // SIGWINCH, numbered above SIGTERM: had SIGTERM been forwarded, the catchers,
            // which take the lowest pending signal first, would log it before this one.
            run.signal(libc::SIGWINCH);
            // So each catcher logs 28 first, and 15 when the delay is over. (The order, not
            // a look in between, which a slow test could take after the delay.)
            run.wait_for_file(&log, "main 15\n");
            run.wait_for_file(&log, "member 15\n");
            let text = sandbox.read("signals");
            for who in ["main", "member"] {
                let at = |sig| text.find(&format!("{who} {sig}\n"));
                assert!(
                    at(28).is_some_and(|winch| at(15).is_some_and(|term| winch < term)),
                    "{mode:?} {wait_all:?}: not held: {text}"
                );
            }
            run.signal(EXIT_SIG);
            let out = run.wait();
            assert_eq!(out.code, 0, "{mode:?} {wait_all:?}: {out:?}");
        }
    }
}

#[test]
fn a_second_ending_signal_during_the_delay_goes_at_once() {
    for mode in BOTH {
        let sandbox = Sandbox::new("stop-delay-second");
        // An hour: only "at once" ends this test before the harness calls it a hang.
        // SIGTERM is taken first, and held: SIGINT, a lower number, would be taken first
        // if both were pending at once.
        let run = start_holding_sigterm(mode, &sandbox, &["--stop-delay", "1h"]);
        let text = both_catchers_get(run, &sandbox, libc::SIGINT, EXIT_SIG, &format!("{mode:?}"));
        assert!(!text.contains(" 15\n"), "the held one is dropped: {text}");
    }
}

#[test]
fn a_stopped_app_is_continued_after_the_delay() {
    for mode in BOTH {
        let sandbox = Sandbox::new("stop-delay-stopped");
        let mut run = reaper(mode)
            .args(["--stop-delay", "0.3s"])
            .current_dir(&sandbox.dir)
            .args(sh("touch ready; exec sleep 1000"))
            .timeout(Duration::from_secs(30))
            .start();
        run.wait_for_file(&sandbox.path("ready"), "");
        let reaper_pid = run.reaper_pid;
        let app = run.poll("the app to be sleep", || {
            crate::harness::only_child(reaper_pid).filter(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c == "sleep\n")
            })
        });
        // SAFETY: kill has no memory-safety preconditions; the pid is this run's app.
        assert_eq!(unsafe { libc::kill(app, libc::SIGSTOP) }, 0);
        run.poll("the app to stop", || {
            (proc_stat(app).map(|s| s.state) == Some('T')).then_some(())
        });
        run.signal(libc::SIGTERM);
        // Stopped, sleep keeps SIGTERM pending for ever without the SIGCONT after it.
        let out = run.wait();
        assert_eq!(out.code, 143, "{mode:?}: {out:?}");
    }
}

#[test]
fn a_bad_stop_delay_is_a_usage_error() {
    for (args, env, word) in [
        (
            &["--stop-delay", "soon"][..],
            None,
            "'soon' for --stop-delay",
        ),
        (&[][..], Some("-5s"), "'-5s' in REAPER_STOP_DELAY"),
    ] {
        let mut run = reaper(As::Pid1).args(args);
        if let Some(v) = env {
            run = run.env("REAPER_STOP_DELAY", v);
        }
        let out = run.arg("true").run();
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains(word), "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    }
}
