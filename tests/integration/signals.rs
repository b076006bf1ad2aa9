//! Forwarding: every signal reaper takes (standard and real-time) reaches the app's whole
//! process group, or the main child alone with --single-child; --rewrite; the parent-death
//! signal; and a signal sent as soon as reaper can take it is not lost.

use std::time::Duration;

use crate::harness::{
    As, BOTH, Running, Sandbox, children_of, forwarded_signals, proc_stat, reaper, sh, testkit_str,
};

/// The last signal sent in a `catch` test: both catchers exit on it.
const EXIT_SIG: i32 = 64;

fn start_catch(mode: As, sandbox: &Sandbox, opts: &[&str]) -> Running {
    let log = sandbox.file("signals");
    let mut run = reaper(mode)
        .args(opts)
        .args([testkit_str(), "catch".into(), log, EXIT_SIG.to_string()])
        .start();
    run.wait_for_file(&sandbox.path("signals"), "main ready");
    run.wait_for_file(&sandbox.path("signals"), "member ready");
    run
}

#[test]
fn every_forwarded_signal_reaches_the_whole_group() {
    for mode in BOTH {
        let sandbox = Sandbox::new("forward-all");
        let mut run = start_catch(mode, &sandbox, &[]);
        let log = sandbox.path("signals");
        let signals: Vec<i32> = forwarded_signals()
            .into_iter()
            .filter(|&s| s != EXIT_SIG)
            .collect();
        assert_eq!(
            signals.len(),
            64 - 2 - 7 - 1 - 1,
            "standard and real-time alike"
        );
        for sig in signals {
            run.signal(sig);
            run.wait_for_file(&log, &format!("main {sig}\n"));
            run.wait_for_file(&log, &format!("member {sig}\n"));
            // SIGTSTP, SIGTTIN and SIGTTOU are forwarded, never acted on by reaper itself.
            let state = proc_stat(run.reaper_pid).map(|s| s.state);
            assert_ne!(state, Some('T'), "reaper stopped itself after signal {sig}");
        }
        run.signal(EXIT_SIG);
        let out = run.wait();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
    }
}

#[test]
fn single_child_forwards_to_the_main_child_only() {
    for (opts, env) in [
        (&["-c"][..], None),
        (&["--single-child"][..], None),
        (&[][..], Some("0")),
    ] {
        let sandbox = Sandbox::new("single-child");
        let log = sandbox.file("signals");
        let mut run = reaper(As::Pid1).args(opts).args(["-t", "30"]);
        if let Some(v) = env {
            run = run.env("DUMB_INIT_SETSID", v);
        }
        let mut run = run
            .args([
                testkit_str(),
                "catch".into(),
                log.clone(),
                EXIT_SIG.to_string(),
            ])
            .start();
        run.wait_for_file(&sandbox.path("signals"), "member ready");
        run.signal(libc::SIGUSR1);
        run.wait_for_file(&sandbox.path("signals"), "main 10\n");
        run.signal(EXIT_SIG);
        // The main child exits; the member, which blocks everything, gets the teardown's
        // SIGTERM. Had SIGUSR1 reached it, it would be in its log first. Then the test ends
        // it (reaper's SIGKILL would come only after the grace period, which a loaded
        // machine may need for the SIGTERM to be logged).
        run.wait_for_file(&sandbox.path("signals"), "member 15\n");
        let reaper_pid = run.reaper_pid;
        let member = run.poll("the member", || children_of(reaper_pid).first().copied());
        // SAFETY: kill has no memory-safety preconditions; the pid is this run's member,
        // reaper's child (the main child was reaped before the teardown began).
        unsafe { libc::kill(member, libc::SIGKILL) };
        let out = run.wait();
        assert_eq!(out.code, 0, "{out:?}");
        let text = sandbox.read("signals");
        assert!(
            text.contains("member 15\n"),
            "the member was alive to record: {text}"
        );
        assert!(
            !text.contains("member 10\n"),
            "{opts:?}/{env:?}: the member got SIGUSR1: {text}"
        );
        assert!(!text.contains(&format!("member {EXIT_SIG}\n")), "{text}");
    }
}

#[test]
fn rewrite_changes_or_drops_signals() {
    for mode in BOTH {
        let sandbox = Sandbox::new("rewrite");
        let log = sandbox.path("signals");
        let mut run = start_catch(
            mode,
            &sandbox,
            &[
                "-r",
                "USR1:USR2",
                "--rewrite=TERM:0",
                "-r",
                "RTMIN+1:RTMIN+2",
            ],
        );
        run.signal(libc::SIGTERM);
        run.signal(libc::SIGUSR1);
        run.wait_for_file(&log, "main 12\n");
        run.wait_for_file(&log, "member 12\n");
        run.signal(35);
        run.wait_for_file(&log, "main 36\n");
        run.wait_for_file(&log, "member 36\n");
        // Read now: SIGTERM went to reaper before signal 35 did, so had it been forwarded
        // it would be in the log before 36. (Once the main child exits below, the member
        // gets the teardown's own SIGTERM, which is not a forwarded one.)
        let text = sandbox.read("signals");
        run.signal(EXIT_SIG);
        let out = run.wait();
        assert_eq!(out.code, 0, "{out:?}");
        for gone in [
            "main 10\n",
            "main 15\n",
            "member 15\n",
            "main 35\n",
            "member 35\n",
        ] {
            assert!(!text.contains(gone), "{mode:?}: {gone:?} in {text}");
        }
    }
}

#[test]
fn pdeath_signal_is_forwarded_when_reapers_parent_dies() {
    let sandbox = Sandbox::new("pdeath");
    let log = sandbox.path("signals");
    // Without --kill-child, killing `unshare` (reaper's parent) leaves reaper running.
    let mut run = reaper(As::Pid1)
        .kill_child(false)
        .args(["-p", "SIGUSR1"])
        .args([
            testkit_str(),
            "catch".into(),
            sandbox.file("signals"),
            EXIT_SIG.to_string(),
        ])
        .start();
    run.wait_for_file(&log, "member ready");
    let reaper_pid = run.reaper_pid;
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(run.unshare_pid(), libc::SIGKILL) };
    let found = wait_for(Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        (text.contains("main 10\n") && text.contains("member 10\n")).then_some(())
    });
    // SAFETY: reaper_pid is the reaper this test started; it is ours to end.
    unsafe {
        libc::kill(
            reaper_pid,
            if found.is_some() {
                EXIT_SIG
            } else {
                libc::SIGKILL
            },
        )
    };
    let gone = wait_for(Duration::from_secs(30), || match proc_stat(reaper_pid) {
        None => Some(()),
        Some(s) if s.state == 'Z' => Some(()),
        Some(_) => None,
    });
    if gone.is_none() {
        // SAFETY: as above.
        unsafe { libc::kill(reaper_pid, libc::SIGKILL) };
    }
    drop(run);
    assert!(
        found.is_some(),
        "SIGUSR1 did not reach the group: {}",
        sandbox.read("signals")
    );
    assert!(gone.is_some(), "reaper did not exit on the exit signal");
}

fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_sigterm_right_after_start_is_not_lost() {
    for mode in BOTH {
        for _ in 0..10 {
            // The harness returns as soon as reaper has blocked its signals: usually before
            // the child exists, let alone has exec'd.
            let run = reaper(mode)
                .args(sh("sleep 100"))
                .timeout(Duration::from_secs(30))
                .start();
            run.signal(libc::SIGTERM);
            let out = run.wait();
            assert_eq!(out.code, 143, "{mode:?}: {out:?}");
            assert!(out.elapsed < Duration::from_secs(30));
        }
    }
}
