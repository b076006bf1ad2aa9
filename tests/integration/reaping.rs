//! Orphans and zombies: thousands of orphans leave no zombie, in both modes, and the
//! scenario this project started from.

use crate::harness::{As, BOTH, Sandbox, reaper, sh, testkit_str};

#[test]
fn thousands_of_orphans_leave_no_zombie() {
    let tk = testkit_str();
    for mode in BOTH {
        // The app leaves 3,000 orphans that exit once orphaned, then waits (up to 30 s) until
        // /proc shows no zombie in the namespace; its status says whether that happened.
        let script = format!("'{tk}' orphans 3000 && '{tk}' zombies 30");
        let out = reaper(mode).args(sh(&script)).run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(out.stdout, "zombies 0\n", "{mode:?}: {out:?}");
    }
}

#[test]
fn warn_on_reap_names_each_orphan() {
    let tk = testkit_str();
    let out = reaper(As::Pid1)
        .arg("-w")
        .args(sh(&format!("'{tk}' orphans 5 && '{tk}' zombies 30")))
        .run();
    assert_eq!(out.code, 0, "{out:?}");
    let warnings = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("reaper: warning: reaped process"))
        .count();
    assert_eq!(warnings, 5, "{out:?}");
    let out = reaper(As::Pid1)
        .args(sh(&format!("'{tk}' orphans 5 && '{tk}' zombies 30")))
        .run();
    assert_eq!(out.stderr, "", "{out:?}");
}

/// A start script runs `sh sub.sh` (which prints and sleeps in a loop) and is then killed
/// with SIGKILL, leaving sub.sh orphaned in the same group. reaper reports 137, tears
/// sub.sh down and reaps it, and nothing is left running.
#[test]
fn the_killed_start_script() {
    for mode in BOTH {
        let sandbox = Sandbox::new("start-script");
        sandbox.write("sub.sh", "while :; do echo tick; sleep 0.1; done\n");
        let start = sandbox.write(
            "start.sh",
            "sh sub.sh &\nwhile [ ! -s ticks ]; do sleep 0.01; done\nkill -KILL $$\n",
        );
        let out = reaper(mode)
            .arg("-v")
            .current_dir(&sandbox.dir)
            .args(["sh", "-c", &format!("exec sh {start} > ticks")])
            .run();
        assert_eq!(out.code, 137, "{mode:?}: {out:?}");
        assert!(
            out.stderr.contains("main child exited with status 137"),
            "{out:?}"
        );
        assert!(out.stderr.contains("teardown: sent SIGTERM to"), "{out:?}");
        assert!(
            out.stderr
                .contains("everything exited within the grace period"),
            "{out:?}"
        );
        // As a subreaper, testkit pid1 above reaper lists what is still alive when reaper
        // exits: nothing may be.
        assert!(!out.stderr.contains("leftover"), "{out:?}");
        // It got there well within the default 5 s grace: sub.sh did not need SIGKILL.
        assert!(out.elapsed.as_secs() < 5, "{out:?}");
    }
}

#[test]
fn pause_mode_reaps_and_ends_with_0_on_term_or_int() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let run = reaper(As::Pid1).arg("-P").start();
        // Ignored in pause mode: there is nobody to forward to.
        run.signal(libc::SIGUSR1);
        run.signal(libc::SIGHUP);
        run.signal(sig);
        let out = run.wait();
        assert_eq!(out.code, 0, "{out:?}");
    }
    // Orphans reparented to a pause-mode reaper are reaped: enter its namespace and leave
    // some there, as a container sharing a pod's PID namespace would.
    let tk = testkit_str();
    let mut run = reaper(As::Pid1).arg("--pause").start();
    let pid = run.reaper_pid.to_string();
    let status = std::process::Command::new("nsenter")
        .args([
            "-t",
            &pid,
            "-p",
            "-m",
            "--",
            "sh",
            "-c",
            &format!("'{tk}' orphans 200 && '{tk}' zombies 30"),
        ])
        .env_clear()
        .env("PATH", crate::harness::PATH)
        .output()
        .expect("nsenter");
    assert!(status.status.success(), "{status:?}");
    assert_eq!(String::from_utf8_lossy(&status.stdout), "zombies 0\n");
    run.poll("reaper to still run", || Some(()));
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait().code, 0);
}
