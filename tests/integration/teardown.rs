//! Teardown once the main child has exited: SIGTERM (and SIGCONT) to what is left, reaping
//! until nothing is left or the grace period ends, then SIGKILL.

use std::time::Duration;

use crate::harness::{As, BOTH, Sandbox, reaper, sh};

/// An app that starts a daemon in a session of its own (so it is orphaned, and not in the
/// app's process group), waits until the daemon is up, and exits 0.
fn app_with_daemon(daemon: &str) -> String {
    format!("setsid sh -c '{daemon}' & while [ ! -e up ]; do sleep 0.01; done; exit 0")
}

#[test]
fn a_daemon_that_handles_sigterm_gets_to_write_its_data() {
    for mode in BOTH {
        let sandbox = Sandbox::new("flush");
        let daemon = "trap \"sleep 0.3; echo flushed > data; exit 0\" TERM; touch up; while :; do sleep 0.05; done";
        let out = reaper(mode)
            .arg("-v")
            .current_dir(&sandbox.dir)
            .args(sh(&app_with_daemon(daemon)))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(sandbox.read("data"), "flushed\n", "{mode:?}: {out:?}");
        assert!(
            out.stderr
                .contains("everything exited within the grace period"),
            "{out:?}"
        );
        assert!(!out.stderr.contains("leftover"), "{out:?}");
    }
}

#[test]
fn a_daemon_that_ignores_sigterm_is_killed_when_the_grace_period_ends() {
    for mode in BOTH {
        let sandbox = Sandbox::new("ignore-term");
        let daemon = "trap \"\" TERM; touch up; while :; do sleep 0.05; done";
        let out = reaper(mode)
            .args(["-v", "-t", "1.5"])
            .current_dir(&sandbox.dir)
            .args(sh(&app_with_daemon(daemon)))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(out.stderr.contains("teardown: sent SIGKILL"), "{out:?}");
        assert!(!out.stderr.contains("leftover"), "{out:?}");
        // Not before the grace period ends; and not much later (the bound only catches a
        // hang, on a loaded machine).
        assert!(
            out.elapsed >= Duration::from_millis(1500),
            "{mode:?}: {out:?}"
        );
        assert!(
            out.elapsed < Duration::from_millis(1500 + 5000),
            "{mode:?}: {out:?}"
        );
    }
}

#[test]
fn grace_period_from_the_environment_and_zero_kills_at_once() {
    let sandbox = Sandbox::new("grace-env");
    let daemon = "trap \"\" TERM; touch up; while :; do sleep 0.05; done";
    let out = reaper(As::Pid1)
        .env("REAPER_GRACE_PERIOD", "800ms")
        .current_dir(&sandbox.dir)
        .args(sh(&app_with_daemon(daemon)))
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.elapsed >= Duration::from_millis(800), "{out:?}");

    // With 0, a daemon that would flush on SIGTERM never gets SIGTERM at all.
    for mode in BOTH {
        let sandbox = Sandbox::new("grace-zero");
        let daemon =
            "trap \"echo flushed > data; exit 0\" TERM; touch up; while :; do sleep 0.05; done";
        let out = reaper(mode)
            .args(["-v", "-t", "0"])
            .current_dir(&sandbox.dir)
            .args(sh(&app_with_daemon(daemon)))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        assert!(!out.stderr.contains("SIGTERM"), "{out:?}");
        assert!(out.stderr.contains("teardown: sent SIGKILL"), "{out:?}");
        assert_eq!(sandbox.read("data"), "", "{out:?}");
    }
}

#[test]
fn a_stopped_orphan_is_continued_so_it_can_handle_sigterm() {
    for mode in BOTH {
        let sandbox = Sandbox::new("stopped");
        let daemon = "trap \"echo flushed > data; exit 0\" TERM; touch up; kill -STOP $$; while :; do sleep 0.05; done";
        // The app waits until the daemon is really stopped before it exits.
        let app = format!(
            "setsid sh -c '{daemon}' & d=$!; while [ \"$(cut -d\" \" -f3 /proc/$d/stat)\" != T ]; do sleep 0.01; done; exit 0"
        );
        let out = reaper(mode).current_dir(&sandbox.dir).args(sh(&app)).run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(sandbox.read("data"), "flushed\n", "{mode:?}: {out:?}");
        assert!(
            out.elapsed < Duration::from_secs(5),
            "needed SIGKILL: {out:?}"
        );
    }
}

#[test]
fn the_exit_status_survives_the_teardown() {
    for mode in BOTH {
        let sandbox = Sandbox::new("status-survives");
        let daemon = "trap \"exit 3\" TERM; touch up; while :; do sleep 0.05; done";
        let app =
            format!("setsid sh -c '{daemon}' & while [ ! -e up ]; do sleep 0.01; done; exit 42");
        let out = reaper(mode).current_dir(&sandbox.dir).args(sh(&app)).run();
        assert_eq!(out.code, 42, "{mode:?}: {out:?}");
    }
}
