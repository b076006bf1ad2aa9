//! Teardown once the main child has exited: SIGTERM (and SIGCONT) to what is left, reaping
//! until nothing is left or the grace period ends, then SIGKILL.

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use crate::harness::{As, BOTH, Sandbox, nofile_4, reaper, sh, testkit_str};

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

/// Starts `script` inside the namespace of the PID 1 reaper `pid`, as a container that
/// shares a pod's PID namespace (or `docker exec`) does: its parent, nsenter, stays
/// outside, so it is no child of reaper's.
pub(crate) fn enter(pid: i32, script: &str) -> std::process::Child {
    let mut cmd = std::process::Command::new("nsenter");
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        cmd.arg("-U");
    }
    cmd.args(["-t", &pid.to_string(), "-p", "-m", "--", "sh", "-c", script])
        .env_clear()
        .env("PATH", crate::harness::PATH)
        .spawn()
        .expect("nsenter")
}

#[test]
fn as_pid1_processes_that_are_not_its_children_are_torn_down_too() {
    // Both in --pause mode (a pod sandbox) and after the main child exits.
    for pause in [true, false] {
        let sandbox = Sandbox::new("not-children");
        let mut run = reaper(As::Pid1)
            .args(["-v", "-t", "2"])
            .current_dir(&sandbox.dir);
        run = if pause {
            run.arg("-P")
        } else {
            run.args(sh("while [ ! -e go ]; do sleep 0.01; done; exit 4"))
        };
        let mut run = run.start();
        // Entering a mount namespace moves to its root: the scripts start from /.
        let cd = format!("cd '{}'", sandbox.dir.display());
        let flusher = enter(
            run.reaper_pid,
            &format!(
                "{cd}; trap 'sleep 0.2; echo flushed > data; exit 0' TERM; touch up1; while :; do sleep 0.05; done"
            ),
        );
        let stubborn = enter(
            run.reaper_pid,
            &format!("{cd}; trap '' TERM; touch up2; while :; do sleep 0.05; done"),
        );
        let mut guards = [flusher, stubborn];
        run.poll("the entered processes", || {
            (sandbox.path("up1").exists() && sandbox.path("up2").exists()).then_some(())
        });
        if pause {
            run.signal(libc::SIGTERM);
        } else {
            std::fs::write(sandbox.path("go"), "").unwrap();
        }
        let out = run.wait();
        let statuses: Vec<_> = guards
            .iter_mut()
            .map(|c| {
                let _ = c.kill();
                // nsenter exits with its child's code, or dies of its child's signal.
                c.wait().map(|s| s.code().or(s.signal().map(|n| 128 + n)))
            })
            .collect();
        let want = if pause { 0 } else { 4 };
        assert_eq!(out.code, want, "pause={pause}: {out:?}");
        assert_eq!(sandbox.read("data"), "flushed\n", "pause={pause}: {out:?}");
        // The one that ignores SIGTERM is killed when the grace period ends, not before.
        assert!(out.stderr.contains("teardown: sent SIGKILL"), "{out:?}");
        assert!(out.elapsed >= Duration::from_secs(2), "{out:?}");
        assert!(out.elapsed < Duration::from_secs(2 + 5), "{out:?}");
        // nsenter reports its child's death: the flusher exited 0, the other was killed.
        assert_eq!(statuses[0].as_ref().ok(), Some(&Some(0)), "{statuses:?}");
        assert_eq!(statuses[1].as_ref().ok(), Some(&Some(137)), "{statuses:?}");
    }
}

/// A process in the namespace that reaper may not signal (root's, with reaper running as
/// another user, as a `docker exec -u root` beside a container without root) cannot be
/// ended by reaper: it must not keep reaper waiting for the grace period either.
#[test]
fn as_pid1_a_process_reaper_may_not_signal_does_not_hold_it_up() {
    let sandbox = Sandbox::new("unsignallable");
    let as_nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--",
    ];
    let mut run = reaper(As::Pid1)
        .wrap(as_nobody)
        .args(["-v", "-t", "30"])
        .args(sh("while [ ! -e \"$GO\" ]; do sleep 0.01; done; exit 4"))
        .env("GO", sandbox.file("go"))
        .start();
    let cd = format!("cd '{}'", sandbox.dir.display());
    let mut root_process = enter(
        run.reaper_pid,
        &format!("{cd}; trap '' TERM; touch up; while :; do sleep 0.05; done"),
    );
    run.poll("the root process", || {
        sandbox.path("up").exists().then_some(())
    });
    // From the app's end, not reaper's start: a hang bound, far below the grace period.
    let go = std::time::Instant::now();
    std::fs::write(sandbox.path("go"), "").unwrap();
    let out = run.wait();
    let took = go.elapsed();
    let _ = root_process.kill();
    let _ = root_process.wait();
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        took < Duration::from_secs(25),
        "waited out the grace period: {took:?}, {out:?}"
    );
    assert!(!out.stderr.contains("still left"), "{out:?}");
}

/// `testkit graceful .`: an app that counts the SIGTERMs it gets (a line each in `terms`)
/// and takes the first as "shut down gracefully" (a second of clean-up, then `cleanup`) and
/// a second as "quit now" (exit 1 at once, no clean-up); `up` once it handles SIGTERM.
fn counts_sigterms() -> String {
    format!("{} graceful .", testkit_str())
}

/// `docker stop` on an app that ends gracefully on its first SIGTERM: it gets exactly one,
/// whether reaper forwards to its group or to the main child alone, and whether a wrapper
/// shell (`sh -c 'app; ...'`, which dies of the SIGTERM at once) stands in front of it.
#[test]
fn an_app_asked_to_end_gets_no_second_sigterm_from_the_teardown() {
    for mode in BOTH {
        for single_child in [false, true] {
            for wrapped in [false, true] {
                let what = format!("{mode:?} single_child={single_child} wrapped={wrapped}");
                let sandbox = Sandbox::new("one-sigterm");
                let app = counts_sigterms();
                let command = if wrapped {
                    format!("{app}; echo the wrapper went on")
                } else {
                    format!("exec {app}")
                };
                let mut run = reaper(mode)
                    .args(["-v", "-t", "10"])
                    .args(single_child.then_some("-c"))
                    .current_dir(&sandbox.dir)
                    .args(sh(&command))
                    .start();
                run.wait_for_file(&sandbox.path("up"), "");
                run.signal(libc::SIGTERM);
                let out = run.wait();
                assert_eq!(sandbox.read("terms"), "term\n", "{what}: {out:?}");
                assert_eq!(sandbox.read("cleanup"), "done\n", "{what}: {out:?}");
                let want = if wrapped { 143 } else { 0 };
                assert_eq!(out.code, want, "{what}: {out:?}");
            }
        }
    }
}

/// The teardown's summary counts in words: "1 process", "2 processes". As PID 1 too, where
/// the SIGTERM goes out with one `kill(-1)`: the count is of what /proc shows it reached.
#[test]
fn the_teardown_counts_one_process_and_two_processes() {
    for mode in BOTH {
        for (daemons, want) in [(1, "1 process;"), (2, "2 processes;")] {
            let sandbox = Sandbox::new("count");
            // One process each: a shell that ends by becoming its sleep. It writes its file
            // itself: a `touch` could still be there, past the file, at the teardown.
            let daemon = ": > up$0; exec sleep 100";
            let app = format!(
                "for i in $(seq {daemons}); do setsid sh -c '{daemon}' $i & done; \
                 while [ $(ls | grep -c ^up) -lt {daemons} ]; do sleep 0.01; done; exit 0"
            );
            let out = reaper(mode)
                .arg("-v")
                .current_dir(&sandbox.dir)
                .args(sh(&app))
                .run();
            assert_eq!(out.code, 0, "{mode:?}: {out:?}");
            assert!(
                out.stderr
                    .contains(&format!("teardown: sent SIGTERM to {want}")),
                "{mode:?}: {out:?}"
            );
        }
    }
}

/// A sandbox that the app, run as nobody, may write in.
fn open_sandbox(name: &str) -> Sandbox {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new(name);
    std::fs::set_permissions(&sandbox.dir, std::fs::Permissions::from_mode(0o777))
        .expect("chmod sandbox");
    sandbox
}

/// reaper runs as root without CAP_KILL (`docker run --cap-drop ALL --cap-add SETUID
/// --cap-add SETGID`), its app as another user: no signal of reaper's can reach the app.
/// reaper says so at start, names the first refused signal once at the default level with
/// what to do, and no line claims a delivery: the teardown judges from what is left.
#[test]
fn without_cap_kill_reaper_says_so_and_claims_no_delivery() {
    let no_cap_kill = ["setpriv", "--inh-caps=-kill", "--bounding-set=-kill", "--"];
    for mode in BOTH {
        let sandbox = open_sandbox("no-cap-kill");
        let daemon = "trap \"touch got-term\" TERM; touch up; while :; do sleep 0.05; done";
        let app =
            format!("setsid sh -c '{daemon}' & while [ ! -e go ]; do sleep 0.01; done; exit 3");
        let mut run = reaper(mode)
            .wrap(no_cap_kill)
            .args(["-v", "-t", "1", "--user", "65534"])
            .current_dir(&sandbox.dir)
            .args(sh(&app))
            .start();
        run.wait_for_file(&sandbox.path("up"), "");
        // `docker stop`: forwarded to the app, which the kernel refuses.
        run.signal(libc::SIGTERM);
        std::fs::write(sandbox.path("go"), "").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 3, "{mode:?}: {out:?}");
        assert!(!sandbox.path("got-term").exists(), "{mode:?}: {out:?}");
        assert!(
            out.stderr
                .contains("warning: reaper (uid 0) lacks CAP_KILL and the app runs as uid 65534"),
            "{mode:?}: {out:?}"
        );
        let refused: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("not permitted to send"))
            .collect();
        assert_eq!(refused.len(), 1, "{mode:?}: {out:?}");
        assert!(
            refused[0]
                .starts_with("reaper: warning: not permitted to send SIGTERM to process group")
                && refused[0].contains("keep CAP_KILL, or run reaper as the app's user"),
            "{mode:?}: {out:?}"
        );
        assert!(
            !out.stderr.contains("sent SIGTERM to every process"),
            "{mode:?}: {out:?}"
        );
        // The daemon, and its sleep if the walk caught one.
        assert!(
            out.stderr
                .contains("teardown: sent SIGTERM to 0 processes (and was not permitted to signal"),
            "{mode:?}: {out:?}"
        );
        assert!(
            !out.stderr.contains("everything exited"),
            "{mode:?}: {out:?}"
        );
        assert!(
            out.stderr.contains("processes still left"),
            "{mode:?}: {out:?}"
        );
    }
}

/// A daemon started with `setsid` (`touch`, not `echo >`: a shell's redirection wants a
/// descriptor above 9, which a limit of 4 refuses).
const FLUSHING_DAEMON: &str =
    "trap \"touch flushed; exit 0\" TERM; touch up; while :; do sleep 0.05; done";

/// With one descriptor to spare, the teardown still finds a daemon in a session of its own
/// and sends it SIGTERM: whether the app ended by itself, or by a SIGTERM forwarded to its
/// group (`docker stop`), after which the teardown signals everything else one by one.
#[test]
fn at_four_descriptors_a_daemon_still_gets_sigterm() {
    for mode in BOTH {
        // First the case the issue found: as PID 1 after `docker stop`, as a subreaper
        // when the app ends by itself.
        for stopped in [mode == As::Pid1, mode != As::Pid1] {
            let what = format!("{mode:?} stopped={stopped}");
            let sandbox = Sandbox::new("nofile-4");
            let app = format!(
                "trap 'exit 0' TERM; setsid sh -c '{FLUSHING_DAEMON}' & \
                 while [ ! -e up ]; do sleep 0.01; done; {}",
                if stopped {
                    "while :; do sleep 0.05; done"
                } else {
                    "exit 0"
                }
            );
            let run = reaper(mode)
                .pre_exec(nofile_4)
                .args(["-v", "-t", "3"])
                .current_dir(&sandbox.dir)
                .args(sh(&app));
            let out = if stopped {
                let mut run = run.start();
                run.wait_for_file(&sandbox.path("up"), "");
                run.signal(libc::SIGTERM);
                run.wait()
            } else {
                run.run()
            };
            assert_eq!(out.code, 0, "{what}: {out:?}");
            assert!(sandbox.path("flushed").exists(), "{what}: {out:?}");
            // The daemon, and its sleep if the walk caught one.
            assert!(
                out.stderr.contains("teardown: sent SIGTERM to 1 process")
                    || out.stderr.contains("teardown: sent SIGTERM to 2 processes"),
                "{what}: {out:?}"
            );
        }
    }
}

/// A `sh -c` script that mounts /proc with `hidepid` (`hidepid=1` or `hidepid=2`) and a
/// `gid=` reaper is not in (root's group would see everything), then runs the rest without
/// CAP_SYS_PTRACE, which would see through it too.
fn hide_proc(hidepid: &str) -> String {
    format!(
        "mount -t proc -o {hidepid},gid=4242 proc /proc && exec setpriv --inh-caps=-sys_ptrace --bounding-set=-sys_ptrace -- \"$@\""
    )
}

/// /proc mounted `hidepid=2` (or `hidepid=1`, which lists every pid but lets reaper read
/// none of another user's) with a `gid=` that reaper is not in (without one, the root group
/// sees everything), reaper root without CAP_SYS_PTRACE (Docker's default capabilities),
/// its app another user. The kernel's list of reaper's own children still names the daemon
/// the app left behind: it gets SIGTERM, and reaper warns that its walk was partly blind.
/// As a subreaper when the app ends by itself; as PID 1 after `docker stop` (a SIGTERM
/// forwarded to the app's group, after which the teardown signals everything else one by
/// one, not with kill(-1)).
#[test]
fn with_proc_hidden_a_daemon_still_gets_sigterm() {
    for hidepid in ["hidepid=2", "hidepid=1"] {
        let mount = hide_proc(hidepid);
        for mode in BOTH {
            let what = format!("{hidepid} {mode:?}");
            let stopped = mode == As::Pid1;
            let sandbox = open_sandbox("hidepid");
            let app = format!(
                "trap 'exit 0' TERM; setsid sh -c '{FLUSHING_DAEMON}' & \
                 while [ ! -e up ]; do sleep 0.01; done; {}",
                if stopped {
                    "while :; do sleep 0.05; done"
                } else {
                    "exit 0"
                }
            );
            let run = reaper(mode)
                .wrap(["sh", "-c", &mount, "sh"])
                .args(["-v", "-t", "3", "--user", "65534"])
                .current_dir(&sandbox.dir)
                .args(sh(&app));
            let out = if stopped {
                let mut run = run.start();
                run.wait_for_file(&sandbox.path("up"), "");
                run.signal(libc::SIGTERM);
                run.wait()
            } else {
                run.run()
            };
            assert_eq!(out.code, 0, "{what}: {out:?}");
            assert!(sandbox.path("flushed").exists(), "{what}: {out:?}");
            assert!(
                out.stderr
                    .contains("warning: teardown: /proc shows reaper only part of the processes"),
                "{what}: {out:?}"
            );
            if hidepid == "hidepid=2" {
                assert!(
                    out.stderr.contains("1 of its children not listed")
                        && out.stderr.contains("teardown: sent SIGTERM to 1 process"),
                    "{what}: the daemon, the one process reaper sees: {out:?}"
                );
            }
        }
    }
}

/// /proc hidden as above, and a worker the app left behind in the app's own process group
/// (no `setsid`): as a subreaper the teardown signals the app's group whole (it walks
/// partly blind) and used to signal the hidden child by pid as well: two SIGTERMs (to an
/// app that takes a second as "quit now"), and the log counted 2 processes. One each, in
/// both modes.
#[test]
fn with_proc_hidden_a_worker_in_the_apps_group_gets_one_sigterm() {
    let mount = hide_proc("hidepid=2");
    for mode in BOTH {
        let sandbox = open_sandbox("hidepid-one-sigterm");
        let app = format!(
            "{} & while [ ! -e up ]; do sleep 0.01; done; exit 0",
            counts_sigterms()
        );
        let out = reaper(mode)
            .wrap(["sh", "-c", &mount, "sh"])
            .args(["-v", "-t", "10", "--user", "65534"])
            .current_dir(&sandbox.dir)
            .args(sh(&app))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(sandbox.read("terms"), "term\n", "{mode:?}: {out:?}");
        assert_eq!(sandbox.read("cleanup"), "done\n", "{mode:?}: {out:?}");
        // What the kernel was asked, counted: the worker, once. Two SIGTERMs sent in a row are often one by the time the
        // shell runs its trap, so the count is what shows the second.
        if mode == As::Subreaper {
            assert!(
                out.stderr
                    .contains("teardown: sent SIGTERM to 1 process; waiting"),
                "{mode:?}: {out:?}"
            );
        }
    }
}

/// `docker stop` on an app whose group holds a stopped process that /proc (`hidepid=1`,
/// reaper without CAP_SYS_PTRACE) does not let reaper read: /proc cannot tell whether it
/// is stopped, so the forwarded SIGTERM is followed by SIGCONT, and the worker gets to run
/// its handler. reaper used to take an unreadable process for a running one: the worker
/// stayed stopped, its SIGTERM pending, until the SIGKILL after the grace period.
#[test]
fn with_proc_unreadable_a_stopped_member_of_the_apps_group_is_continued() {
    let mount = hide_proc("hidepid=1");
    for mode in BOTH {
        let sandbox = open_sandbox("hidepid-stopped");
        // The worker, another user's (unreadable), in the app's group, stops itself; the
        // app, root's (readable), waits for it.
        let worker = "trap \"echo term > got; exit 0\" TERM; touch up; kill -STOP $$; \
                      while :; do sleep 0.02; done";
        let app =
            format!("setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '{worker}' & wait");
        let mut run = reaper(mode)
            .wrap(["sh", "-c", &mount, "sh"])
            .args(["-v", "-t", "10"])
            .current_dir(&sandbox.dir)
            .args(sh(&app))
            .start();
        run.wait_for_file(&sandbox.path("up"), "");
        let reaper_pid = run.reaper_pid;
        run.poll("the worker to stop", || {
            let mut frontier = vec![reaper_pid];
            while let Some(pid) = frontier.pop() {
                for child in crate::harness::children_of(pid) {
                    if crate::harness::proc_stat(child).is_some_and(|s| s.state == 'T') {
                        return Some(());
                    }
                    frontier.push(child);
                }
            }
            None
        });
        run.signal(libc::SIGTERM);
        run.wait_for_file(&sandbox.path("got"), "term\n");
        let out = run.wait();
        assert!(!out.stderr.contains("sent SIGKILL"), "{mode:?}: {out:?}");
    }
}

/// Without /proc a subreaper's teardown can reach only the app's process group; when that
/// group was already asked to end (`docker stop`), it is spared all the same: the app
/// behind its wrapper shell gets one SIGTERM and finishes its clean-up.
#[test]
fn without_proc_an_app_asked_to_end_still_gets_no_second_sigterm() {
    let no_proc = ["sh", "-c", "mount -t tmpfs none /proc && exec \"$@\"", "sh"];
    let sandbox = Sandbox::new("one-sigterm-no-proc");
    let mut run = reaper(As::Subreaper)
        .wrap(no_proc)
        .args(["-v", "-t", "10"])
        .current_dir(&sandbox.dir)
        .args(sh(&format!(
            "{}; echo the wrapper went on",
            counts_sigterms()
        )))
        .start();
    run.wait_for_file(&sandbox.path("up"), "");
    run.signal(libc::SIGTERM);
    let out = run.wait();
    assert_eq!(sandbox.read("terms"), "term\n", "{out:?}");
    assert_eq!(sandbox.read("cleanup"), "done\n", "{out:?}");
    assert_eq!(out.code, 143, "{out:?}");
    assert!(
        out.stderr
            .contains("teardown: sent SIGTERM to no process (not to process group"),
        "{out:?}"
    );
}
