//! A stopped application still stops (issue 12.3): a forwarded signal that asks the app to
//! end is followed by SIGCONT when the target holds a stopped process, so a stopped app
//! acts on it at once instead of holding the container until the runtime's SIGKILL; a
//! signal that does not ask it to end continues nothing, and a running app gets no SIGCONT
//! at all (issue 18.12: many redraw or log on it).

use std::time::Duration;

use crate::harness::{
    As, BOTH, Running, Sandbox, both_catchers_get, children_of, proc_stat, reaper, sh,
    status_field, testkit_str,
};

/// An app whose SIGTERM handler ends it by SIGTERM all the same (status 143), and whose
/// SIGHUP and SIGUSR1 handlers do nothing: a handled signal, unlike a default fatal one,
/// stays pending in a stopped process until it is continued. It touches `ready` once the
/// handlers are in place.
const APP: &str =
    "trap 'trap - TERM; kill -TERM $$' TERM; trap : HUP USR1; touch ready; sleep 1000 & wait; wait";

/// Starts reaper with `APP` and stops the app (the main child) with SIGSTOP; returns the
/// run and the app's pid.
fn start_stopped(mode: As, sandbox: &Sandbox, opts: &[&str]) -> (Running, i32) {
    let mut run = reaper(mode)
        .args(opts)
        .current_dir(&sandbox.dir)
        .args(sh(APP))
        // Without the SIGCONT, reaper waits for ever: this bounds only that hang.
        .timeout(Duration::from_secs(20))
        .start();
    run.wait_for_file(&sandbox.path("ready"), "");
    let reaper_pid = run.reaper_pid;
    let app = run.poll("the app", || {
        crate::harness::children_of(reaper_pid)
            .into_iter()
            .find(|&p| proc_stat(p).is_some_and(|s| s.pgrp == p))
    });
    // SAFETY: kill has no memory-safety preconditions; the pid is this run's app.
    assert_eq!(unsafe { libc::kill(app, libc::SIGSTOP) }, 0);
    run.poll("the app to stop", || {
        (proc_stat(app).map(|s| s.state) == Some('T')).then_some(())
    });
    (run, app)
}

#[test]
fn a_stopped_app_ends_on_sigterm() {
    for mode in BOTH {
        for opts in [&[][..], &["--single-child"][..]] {
            let sandbox = Sandbox::new("stopped-term");
            let (run, _) = start_stopped(mode, &sandbox, opts);
            run.signal(libc::SIGTERM);
            let out = run.wait();
            assert_eq!(out.code, 143, "{mode:?} {opts:?}: {out:?}");
        }
    }
}

/// SIGINT rewritten to SIGTERM asks the app to end too: what counts is the signal sent.
#[test]
fn a_stopped_app_ends_on_a_signal_rewritten_to_sigterm() {
    let sandbox = Sandbox::new("stopped-rewrite");
    let (run, _) = start_stopped(As::Pid1, &sandbox, &["-r", "INT:TERM"]);
    run.signal(libc::SIGINT);
    let out = run.wait();
    assert_eq!(out.code, 143, "{out:?}");
}

/// Pending signals of `pid`, shared and its own, as /proc shows them.
fn pending(pid: i32) -> u64 {
    ["ShdPnd", "SigPnd"]
        .iter()
        .filter_map(|k| status_field(pid, k))
        .filter_map(|m| u64::from_str_radix(&m, 16).ok())
        .fold(0, |a, b| a | b)
}

#[test]
fn a_stopped_app_stays_stopped_on_sighup() {
    let bit = |sig: i32| 1u64 << (sig - 1);
    for mode in BOTH {
        for opts in [&[][..], &["--single-child"][..]] {
            let sandbox = Sandbox::new("stopped-hup");
            let (mut run, app) = start_stopped(mode, &sandbox, opts);
            run.signal(libc::SIGHUP);
            // reaper takes signals one at a time, lowest first: once the app has SIGUSR1
            // pending, reaper is done with SIGHUP, SIGCONT or not.
            run.signal(libc::SIGUSR1);
            run.poll("SIGUSR1 to reach the app", || {
                let p = pending(app);
                let gone_on = proc_stat(app).map(|s| s.state) != Some('T');
                (p & bit(libc::SIGUSR1) != 0 || gone_on).then_some(())
            });
            assert_eq!(
                proc_stat(app).map(|s| s.state),
                Some('T'),
                "{mode:?} {opts:?}: SIGHUP continued the app"
            );
            assert_ne!(pending(app) & bit(libc::SIGHUP), 0, "{mode:?} {opts:?}");
            run.signal(libc::SIGTERM);
            let out = run.wait();
            assert_eq!(out.code, 143, "{mode:?} {opts:?}: {out:?}");
        }
    }
}

/// `testkit catch` logs every signal it receives; both catchers exit on this one, which is
/// above SIGCONT: a SIGCONT sent with the signal before it is logged before it.
const EXIT_SIG: i32 = 64;

fn catch(sandbox: &Sandbox, exit_sig: i32) -> [String; 4] {
    [
        testkit_str(),
        "catch".into(),
        sandbox.file("signals"),
        exit_sig.to_string(),
    ]
}

/// dumb-init's own tests fail on this: the app got 18 after every 2, 3 or 15.
#[test]
fn a_running_app_gets_no_sigcont_after_an_ending_signal() {
    for mode in BOTH {
        for opts in [&[][..], &["--single-child"][..]] {
            for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGQUIT] {
                let what = format!("{mode:?} {opts:?} signal {sig}");
                let sandbox = Sandbox::new("no-cont");
                let log = sandbox.path("signals");
                let mut run = reaper(mode)
                    .args(opts)
                    .args(["-t", "0.5"])
                    .args(catch(&sandbox, EXIT_SIG))
                    .start();
                run.wait_for_file(&log, "main ready");
                run.wait_for_file(&log, "member ready");
                run.signal(sig);
                run.wait_for_file(&log, &format!("main {sig}\n"));
                run.signal(EXIT_SIG);
                let out = run.wait();
                assert_eq!(out.code, 0, "{what}: {out:?}");
                let text = sandbox.read("signals");
                assert!(text.contains("main 64\n"), "{what}: {text}");
                assert!(!text.contains("main 18\n"), "{what}: {text}");
                if opts.is_empty() {
                    // The member got what the group got, and nothing more.
                    assert!(text.contains(&format!("member {sig}\n")), "{what}: {text}");
                    assert!(!text.contains("member 18\n"), "{what}: {text}");
                }
            }
        }
    }
}

/// The same once the main child is gone under `--wait-all`: the signal goes to every
/// process left, and none of them is stopped.
#[test]
fn with_wait_all_the_processes_left_get_no_sigcont_either() {
    for mode in BOTH {
        let sandbox = Sandbox::new("no-cont-wait-all");
        let log = sandbox.path("signals");
        let [tk, mode_word, file, exit_sig] = catch(&sandbox, EXIT_SIG);
        let script = format!(
            "setsid '{tk}' {mode_word} '{file}' {exit_sig} & \
             while ! grep -q 'member ready' '{file}' 2>/dev/null; do sleep 0.01; done"
        );
        let mut run = reaper(mode).arg("--wait-all").args(sh(&script)).start();
        run.wait_for_file(&log, "member ready");
        // The launcher is reaped once reaper has only the catchers left to wait for. Reaped,
        // not only exited: a signal that comes while it is a zombie still goes to its group,
        // as the app has not ended yet for reaper, and asks the app to end (the teardown
        // then sends SIGTERM, never the SIGINT below).
        let reaper_pid = run.reaper_pid;
        run.poll("the launcher to be reaped", || {
            children_of(reaper_pid)
                .iter()
                .all(|&p| proc_stat(p).is_some_and(|s| s.session == p && s.state != 'Z'))
                .then_some(())
        });
        let text = both_catchers_get(run, &sandbox, libc::SIGINT, EXIT_SIG, &format!("{mode:?}"));
        assert!(!text.contains(" 18\n"), "{mode:?}: {text}");
    }
}

/// A stopped member of the app's group, not the main child, is found in /proc: the group
/// is continued, and the member ends on the SIGTERM it was sent.
#[test]
fn a_stopped_member_of_the_group_still_ends_on_sigterm() {
    for mode in BOTH {
        let sandbox = Sandbox::new("stopped-member");
        let log = sandbox.path("signals");
        let mut run = reaper(mode)
            .args(catch(&sandbox, libc::SIGTERM))
            .timeout(Duration::from_secs(20))
            .start();
        run.wait_for_file(&log, "member ready");
        let reaper_pid = run.reaper_pid;
        let member = run.poll("the member", || {
            let main = *children_of(reaper_pid).first()?;
            children_of(main).first().copied()
        });
        // SAFETY: kill has no memory-safety preconditions; the pid is this run's member.
        assert_eq!(unsafe { libc::kill(member, libc::SIGSTOP) }, 0);
        run.poll("the member to stop", || {
            (proc_stat(member).map(|s| s.state) == Some('T')).then_some(())
        });
        run.signal(libc::SIGTERM);
        run.wait_for_file(&log, "member 15\n");
        let out = run.wait();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
    }
}
