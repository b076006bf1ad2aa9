//! `--wait-all` (issue 12.4): when the main child exits, reaper goes on reaping and
//! forwarding, to every process left, until none is left; the exit status then tells
//! whether the service ended well.

use std::time::Duration;

use crate::harness::{
    As, BOTH, Run, Running, Sandbox, asleep_in_sigtimedwait, children_of, proc_stat, reaper, sh,
    status_field,
};

/// The seed's start script: it launches a worker in a session of its own (a daemon) and
/// exits 0 once the worker is up. The worker records SIGUSR1 and SIGTERM in `got`, ends
/// with 0 on SIGTERM, and with `exit_code` on its own once the file `go` exists.
fn launcher(exit_code: u8, launcher_code: u8) -> String {
    let worker = format!(
        "trap \"echo usr1 >> got\" USR1; trap \"echo term >> got; exit 0\" TERM; echo $$ > worker; \
         while [ ! -e go ]; do sleep 0.02; done; exit {exit_code}"
    );
    launching(&worker, launcher_code)
}

/// A start script that launches `worker` (a script that writes its pid to the file
/// `worker`) in a session of its own and exits with `code` once the worker is up.
fn launching(worker: &str, code: u8) -> String {
    format!(
        "echo $$ > launcher; setsid sh -c '{worker}' & while [ ! -s worker ]; do sleep 0.01; done; exit {code}"
    )
}

/// Starts `run` in the sandbox with `script` as its app, and returns once the launcher is
/// gone (see launcher_gone), with the worker's pid.
fn start_launcher(run: Run, sandbox: &Sandbox, script: &str) -> (Running, i32) {
    let mut run = run.current_dir(&sandbox.dir).args(sh(script)).start();
    let worker = launcher_gone(&mut run, sandbox);
    (run, worker)
}

/// The pid (as this test sees it) of the descendant of reaper's whose pid in reaper's
/// namespace is in the file `name`.
fn pid_in(reaper_pid: i32, sandbox: &Sandbox, name: &str) -> Option<i32> {
    let inner: i32 = sandbox.read(name).trim().parse().expect("a pid");
    let mut frontier = vec![reaper_pid];
    while let Some(pid) = frontier.pop() {
        for child in children_of(pid) {
            let ns_pid = status_field(child, "NSpid")
                .and_then(|f| f.split_whitespace().last()?.parse::<i32>().ok());
            if ns_pid == Some(inner) {
                return Some(child);
            }
            frontier.push(child);
        }
    }
    None
}

/// Waits until the launcher is gone (reaped) and checks that reaper and the worker are
/// still there.
fn launcher_gone(run: &mut Running, sandbox: &Sandbox) -> i32 {
    run.wait_for_file(&sandbox.path("worker"), "\n");
    let reaper_pid = run.reaper_pid;
    // Polled: a walk of /proc may miss a process whose parent exits during it.
    let worker = run.poll("the worker", || pid_in(reaper_pid, sandbox, "worker"));
    // `poll` fails the test if reaper ends first.
    run.poll("the launcher to be reaped", || {
        pid_in(reaper_pid, sandbox, "launcher")
            .is_none()
            .then_some(())
    });
    assert!(
        proc_stat(worker).is_some_and(|s| s.state != 'Z'),
        "the worker is gone"
    );
    worker
}

#[test]
fn the_worker_of_an_exited_launcher_keeps_reaper_running_and_gets_its_signals() {
    for mode in BOTH {
        let sandbox = Sandbox::new("wait-all-seed");
        let (mut run, _) =
            start_launcher(reaper(mode).arg("--wait-all"), &sandbox, &launcher(9, 0));
        run.signal(libc::SIGUSR1);
        run.wait_for_file(&sandbox.path("got"), "usr1\n");
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(sandbox.read("got"), "usr1\nterm\n", "{mode:?}: {out:?}");
        assert_eq!(out.code, 0, "{mode:?}: the worker ended well: {out:?}");
    }
}

#[test]
fn without_wait_all_the_worker_is_torn_down_when_the_launcher_exits() {
    for mode in BOTH {
        let sandbox = Sandbox::new("no-wait-all");
        let out = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(sh(&launcher(9, 0)))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(sandbox.read("got"), "term\n", "{mode:?}: {out:?}");
    }
}

#[test]
fn the_exit_status_is_the_launchers_failure_or_the_last_process_to_end() {
    // (worker's code, launcher's code, options, reaper's status)
    let cases: &[(u8, u8, &[&str], i32)] = &[
        (7, 0, &[], 7),
        (0, 0, &[], 0),
        (0, 5, &[], 5),
        (7, 5, &[], 5),
        (7, 0, &["-e", "7"], 0),
        (7, 5, &["-e", "5"], 7),
    ];
    for mode in BOTH {
        for &(worker, launcher_code, opts, want) in cases {
            let sandbox = Sandbox::new("wait-all-status");
            let run = reaper(mode).arg("--wait-all").args(opts);
            let (run, _) = start_launcher(run, &sandbox, &launcher(worker, launcher_code));
            sandbox.write("go", "");
            let out = run.wait();
            assert_eq!(
                out.code, want,
                "{mode:?}: worker {worker}, launcher {launcher_code}, {opts:?}: {out:?}"
            );
        }
    }
}

#[test]
fn the_environment_form_and_its_values() {
    for (value, waits) in [("1", true), ("true", true), ("0", false), ("", false)] {
        let sandbox = Sandbox::new("wait-all-env");
        let run = reaper(crate::harness::As::Pid1)
            .env("REAPER_WAIT_ALL", value)
            .current_dir(&sandbox.dir)
            .args(sh(&launcher(4, 0)));
        let out = if waits {
            let mut run = run.start();
            launcher_gone(&mut run, &sandbox);
            sandbox.write("go", "");
            run.wait()
        } else {
            // Ended at once, maybe before `start` could see reaper wait for signals.
            run.run()
        };
        assert_eq!(out.code, if waits { 4 } else { 0 }, "{value:?}: {out:?}");
    }
    let out = reaper(crate::harness::As::Pid1)
        .env("REAPER_WAIT_ALL", "maybe")
        .args(["true"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("'maybe'"), "{out:?}");
}

/// An ending signal in the wait: what ignores it is left to the runtime's own timeout,
/// never SIGKILLed by reaper (issue 18.13; this test asserted the opposite before). With
/// `-t 0`, reaper used to kill the worker as soon as it had forwarded SIGTERM.
#[test]
fn a_worker_that_ignores_sigterm_is_left_to_the_runtime() {
    for mode in BOTH {
        let sandbox = Sandbox::new("wait-all-grace");
        let worker = "trap \"\" TERM; trap \"echo winch >> got\" WINCH; echo $$ > worker; \
                      while :; do sleep 0.02; done";
        let run = reaper(mode)
            .args(["--wait-all", "-t", "0"])
            .timeout(Duration::from_secs(30));
        let (mut run, worker) = start_launcher(run, &sandbox, &launching(worker, 0));
        run.signal(libc::SIGTERM);
        // reaper takes pending signals lowest first: once SIGWINCH (28) has reached the
        // worker, reaper is done with SIGTERM (15), and the worker is still there.
        run.signal(libc::SIGWINCH);
        run.wait_for_file(&sandbox.path("got"), "winch\n");
        assert!(
            proc_stat(worker).is_some_and(|s| s.state != 'Z'),
            "{mode:?}: the worker was killed"
        );
        // The runtime's timeout, played by the test: the worker's group (it made its own
        // session), so that its `sleep` does not outlive it and end last, with 0.
        // SAFETY: kill has no memory-safety preconditions; the group is this run's worker's.
        unsafe { libc::kill(-worker, libc::SIGKILL) };
        let out = run.wait();
        assert_eq!(
            out.code, 137,
            "{mode:?}: the last to end was SIGKILLed: {out:?}"
        );
    }
}

/// A stopped worker still ends on SIGTERM in the wait (part 3's SIGCONT, to everything).
#[test]
fn a_stopped_worker_still_ends_on_sigterm() {
    for mode in BOTH {
        let sandbox = Sandbox::new("wait-all-stopped");
        let run = reaper(mode)
            .arg("--wait-all")
            .timeout(Duration::from_secs(20));
        let (mut run, worker) = start_launcher(run, &sandbox, &launcher(9, 0));
        // SAFETY: kill has no memory-safety preconditions; the pid is this run's worker.
        assert_eq!(unsafe { libc::kill(worker, libc::SIGSTOP) }, 0);
        run.poll("the worker to stop", || {
            (proc_stat(worker).map(|s| s.state) == Some('T')).then_some(())
        });
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(sandbox.read("got"), "term\n", "{mode:?}: {out:?}");
    }
}

/// Issue 18.13: once the launcher is gone, a forwarded SIGTERM is the runtime's request,
/// and the runtime has its own timeout. reaper used to SIGKILL the service `-t` after it
/// (with `-t 0` at once, before the handler had run). Its handler takes as long as the
/// test says: it finishes once the file `go` exists, which the test makes only after it
/// has seen the handler start.
#[test]
fn a_forwarded_sigterm_is_never_escalated_by_reaper() {
    for mode in BOTH {
        let sandbox = Sandbox::new("wait-all-no-escalation");
        let worker = "trap \"echo term >> got; while [ ! -e go ]; do sleep 0.01; done; \
                      echo done >> got; exit 3\" TERM; echo $$ > worker; \
                      while :; do sleep 0.02; done";
        let run = reaper(mode).args(["--wait-all", "-t", "0"]);
        let (mut run, _) = start_launcher(run, &sandbox, &launching(worker, 0));
        run.signal(libc::SIGTERM);
        run.wait_for_file(&sandbox.path("got"), "term\n");
        std::fs::write(sandbox.path("go"), "").expect("go");
        let out = run.wait();
        assert_eq!(sandbox.read("got"), "term\ndone\n", "{mode:?}: {out:?}");
        assert_eq!(out.code, 3, "{mode:?}: the service's own status: {out:?}");
    }
}

/// Issue 18.13 as PID 1, with a process reaper did not start (`docker exec c long-job`,
/// played by nsenter): the forwarded SIGTERM reaches it through `kill(-1)`, the service
/// ends, and reaper used to SIGKILL long-job `-t` later (with `-t 0`, at once), as the
/// leftover of a teardown. It is the runtime's to end, by its own timeout.
#[test]
fn as_pid1_a_process_entered_from_outside_is_never_killed_after_a_forwarded_sigterm() {
    let sandbox = Sandbox::new("wait-all-entered");
    let worker = "trap \"exit 0\" TERM; echo $$ > worker; while :; do sleep 0.02; done";
    let mut run = reaper(As::Pid1)
        .args(["-v", "--wait-all", "-t", "0"])
        .current_dir(&sandbox.dir)
        .args(sh(&launching(worker, 0)))
        .timeout(Duration::from_secs(30))
        .start();
    // Entering a mount namespace moves to its root: the script starts from /.
    let cd = format!("cd '{}'", sandbox.dir.display());
    let mut long_job = crate::teardown::enter(
        run.reaper_pid,
        &format!(
            "{cd}; trap 'echo term >> got; while [ ! -e go ]; do sleep 0.01; done; \
             echo done >> got; exit 3' TERM; touch up; while :; do sleep 0.02; done"
        ),
    );
    run.poll("long-job", || sandbox.path("up").exists().then_some(()));
    let worker = launcher_gone(&mut run, &sandbox);
    run.signal(libc::SIGTERM);
    run.wait_for_file(&sandbox.path("got"), "term\n");
    // The service has ended and is reaped; reaper asleep again is in its teardown, past
    // the point where it used to send SIGKILL.
    let reaper_pid = run.reaper_pid;
    run.poll("the service to be reaped and reaper to wait", || {
        (proc_stat(worker).is_none() && asleep_in_sigtimedwait(reaper_pid)).then_some(())
    });
    std::fs::write(sandbox.path("go"), "").expect("go");
    let out = run.wait();
    let _ = long_job.kill();
    let status = long_job.wait().ok().map(|s| s.code());
    assert_eq!(sandbox.read("got"), "term\ndone\n", "{out:?}");
    // nsenter exits with its child's code: long-job ended by itself.
    assert_eq!(status, Some(Some(3)), "{out:?}");
    assert!(!out.stderr.contains("sent SIGKILL"), "{out:?}");
}
