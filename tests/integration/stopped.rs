//! A stopped application still stops (issue 12.3): a forwarded signal that asks the app to
//! end is followed by SIGCONT, so a stopped app acts on it at once instead of holding the
//! container until the runtime's SIGKILL; a signal that does not ask it to end continues
//! nothing.

use std::time::Duration;

use crate::harness::{As, BOTH, Running, Sandbox, proc_stat, reaper, sh, status_field};

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
