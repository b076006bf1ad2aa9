//! The app cannot tell reaper is there: it inherits reaper's signal mask and ignored
//! signals, no descriptor of reaper's, its args and environment byte for byte, and its
//! working directory; and reaper's own troubles (closed or broken stdio) change nothing.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use crate::harness::{
    As, BOTH, Run, Running, Sandbox, asleep_in_sigtimedwait, children_of, field, inspect, reaper,
    sh, testkit_str,
};
use crate::sys::{self, bit, proc_stat};

#[test]
fn the_app_gets_an_empty_mask_and_default_sigpipe_by_default() {
    for mode in BOTH {
        let sandbox = Sandbox::new("mask-default");
        let out = reaper(mode).args(inspect(&sandbox)).run();
        assert_eq!(out.code, 0, "{out:?}");
        let report = sandbox.read("report");
        assert_eq!(field(&report, "SigBlk"), ["0000000000000000"], "{report}");
        assert_eq!(field(&report, "SigIgn"), ["0000000000000000"], "{report}");
    }
}

#[test]
fn the_app_inherits_the_mask_and_ignored_signals_reaper_inherited() {
    // Not 32 or 33: glibc unblocks those at start-up, and `unshare`, between the test and
    // reaper, is a glibc program.
    let blocked = bit(libc::SIGUSR1) | bit(34) | bit(36) | bit(libc::SIGWINCH);
    let ignored = [libc::SIGHUP, libc::SIGPIPE, libc::SIGQUIT];
    for mode in BOTH {
        let sandbox = Sandbox::new("mask-inherited");
        let out = reaper(mode)
            .pre_exec(move || {
                sys::set_mask(libc::SIG_SETMASK, blocked);
                for sig in ignored {
                    sys::set_ignored(sig, true);
                }
                Ok(())
            })
            .args(inspect(&sandbox))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        let report = sandbox.read("report");
        let want_ign = ignored.iter().fold(0, |acc, &s| acc | bit(s));
        assert_eq!(
            field(&report, "SigBlk"),
            [format!("{blocked:016x}")],
            "{mode:?}: {report}"
        );
        assert_eq!(
            field(&report, "SigIgn"),
            [format!("{want_ign:016x}")],
            "{mode:?}: {report}"
        );
    }
}

/// An ignored SIGCHLD makes the kernel reap children by itself and send no SIGCHLD: a
/// reaper that kept it so would never learn that its app exited. reaper takes it back for
/// itself, and the app still inherits it ignored.
#[test]
fn an_inherited_ignored_sigchld_neither_hangs_reaper_nor_reaches_the_app_changed() {
    // `unshare` sets SIGCHLD back to its default for its child, so the ignore is set by a
    // helper that then becomes reaper.
    let ignore_sigchld = [testkit_str(), "ignoring".into(), libc::SIGCHLD.to_string()];
    for mode in BOTH {
        let sandbox = Sandbox::new("sigchld-ignored");
        let out = reaper(mode)
            .wrap(&ignore_sigchld)
            .timeout(Duration::from_secs(20))
            .args(inspect(&sandbox))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let report = sandbox.read("report");
        let want = format!("{:016x}", bit(libc::SIGCHLD));
        assert_eq!(field(&report, "SigIgn"), [want], "{mode:?}: {report}");
        let out = reaper(mode)
            .wrap(&ignore_sigchld)
            .timeout(Duration::from_secs(20))
            .args(["sh", "-c", "sh -c 'exit 0' & exit 5"])
            .run();
        assert_eq!(out.code, 5, "{mode:?}: {out:?}");
    }
}

#[test]
fn the_app_gets_no_descriptor_of_reapers() {
    for mode in BOTH {
        let sandbox = Sandbox::new("fds");
        let out = reaper(mode).arg("-vvv").args(inspect(&sandbox)).run();
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            field(&sandbox.read("report"), "fds"),
            ["[0, 1, 2]"],
            "{mode:?}"
        );

        // A descriptor reaper inherited is the app's too: reaper passes it on untouched.
        let sandbox = Sandbox::new("fds-inherited");
        let out = reaper(mode)
            .pre_exec(|| {
                // SAFETY: dup2 in the forked child; the new descriptor is not close-on-exec.
                unsafe { libc::dup2(2, 7) };
                Ok(())
            })
            .args(inspect(&sandbox))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(
            field(&sandbox.read("report"), "fds"),
            ["[0, 1, 2, 7]"],
            "{mode:?}"
        );
    }
}

#[test]
fn closed_stdin_stdout_and_stderr_stay_closed_and_change_nothing() {
    for mode in BOTH {
        let sandbox = Sandbox::new("closed-stdio");
        let out = reaper(mode)
            .pre_exec(|| {
                // SAFETY: closing descriptors in the forked child.
                unsafe {
                    libc::close(0);
                    libc::close(1);
                    libc::close(2);
                }
                Ok(())
            })
            .args(["-vvv", "-w"])
            .args(inspect(&sandbox))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(field(&sandbox.read("report"), "fds"), ["[]"], "{mode:?}");
        let out = reaper(mode)
            .pre_exec(|| {
                // SAFETY: as above.
                unsafe { libc::close(2) };
                Ok(())
            })
            .args(["-vvv", "sh", "-c", "exit 23"])
            .run();
        assert_eq!(out.code, 23, "{mode:?}: {out:?}");
    }
}

#[test]
fn a_broken_stderr_neither_kills_the_app_nor_changes_the_status() {
    for mode in BOTH {
        let sandbox = Sandbox::new("broken-stderr");
        let write_end = broken_pipe();
        let log = sandbox.file("signals");
        // -vvv: reaper writes a line for every signal, each one to a pipe with no reader.
        let mut run = reaper(mode)
            .stdio(move |cmd| {
                cmd.stderr(write_end);
            })
            .args(["-vvv", &testkit_str(), "catch", &log, "64"])
            .start();
        run.wait_for_file(&sandbox.path("signals"), "member ready");
        for sig in [libc::SIGUSR1, libc::SIGUSR2, libc::SIGHUP] {
            run.signal(sig);
            run.wait_for_file(&sandbox.path("signals"), &format!("member {sig}\n"));
        }
        run.signal(64);
        let out = run.wait();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let text = sandbox.read("signals");
        assert!(
            !text.contains(" 13\n"),
            "reaper's own SIGPIPE was forwarded: {text}"
        );
    }
}

#[test]
fn args_and_environment_arrive_byte_for_byte() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let odd_arg = OsStr::from_bytes(b"\xff\xfe not utf-8 \x80");
    let odd_value = OsStr::from_bytes(b"caf\xe9 \xc3\x28");
    let odd_key = OsStr::from_bytes(b"K\xe9Y");
    for mode in BOTH {
        let sandbox = Sandbox::new("bytes");
        let out = reaper(mode)
            .env("ODD", odd_value)
            .env(odd_key, "v")
            .env("EMPTY", "")
            .env("TINI_SUBREAPER", "1")
            .args(inspect(&sandbox))
            .args([
                odd_arg,
                OsStr::new(""),
                OsStr::new("two words"),
                OsStr::new("-v"),
            ])
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        let report = sandbox.read("report");
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let args = field(&report, "arg");
        assert_eq!(
            args[4..],
            [
                hex(odd_arg.as_bytes()),
                String::new(),
                hex(b"two words"),
                hex(b"-v")
            ],
            "{mode:?}"
        );
        let env: BTreeSet<&str> = field(&report, "env").into_iter().collect();
        let want: Vec<Vec<u8>> = vec![
            format!("PATH={}", crate::harness::PATH).into_bytes(),
            [b"ODD=".as_slice(), odd_value.as_bytes()].concat(),
            [odd_key.as_bytes(), b"=v"].concat(),
            b"EMPTY=".to_vec(),
            b"TINI_SUBREAPER=1".to_vec(),
        ];
        let want: Vec<String> = want.iter().map(|b| hex(b)).collect();
        let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
        assert_eq!(env, want, "{mode:?}");
    }
}

#[test]
fn the_app_keeps_the_working_directory_and_reaper_leaves_it() {
    for mode in BOTH {
        let sandbox = Sandbox::new("cwd");
        let report = sandbox.file("report");
        let script = format!(
            "'{}' inspect --to '{report}' && touch done && exec sleep 100",
            testkit_str()
        );
        let mut run = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(["sh", "-c", &script])
            .start();
        run.wait_for_file(&sandbox.path("report"), "cwd");
        run.poll("the app to finish inspecting", || {
            sandbox.path("done").exists().then_some(())
        });
        // reaper leaves the directory as it settles in, after the spawn: on a loaded machine
        // the app may be done first. Waiting in its loop, reaper has settled in.
        let pid = run.reaper_pid;
        run.poll("reaper to wait for signals", || {
            asleep_in_sigtimedwait(pid).then_some(())
        });
        let reaper_cwd = std::fs::read_link(format!("/proc/{pid}/cwd"));
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 143, "{out:?}");
        let want = sandbox.dir.canonicalize().unwrap();
        assert_eq!(
            field(&sandbox.read("report"), "cwd"),
            [want.to_str().unwrap()],
            "{mode:?}"
        );
        assert_eq!(
            reaper_cwd.ok(),
            Some(std::path::PathBuf::from("/")),
            "{mode:?}: reaper pins the app's directory"
        );
    }
}

#[test]
fn reaper_sleeps_while_its_app_sleeps() {
    // --stop-delay and --restart-signal give the wait a timeout only while they act.
    let with_options = ["--stop-delay", "1s", "--restart-signal", "HUP"];
    for (mode, opts) in BOTH
        .into_iter()
        .flat_map(|m| [(m, &[][..]), (m, &with_options[..])])
    {
        let sandbox = Sandbox::new("idle");
        let mut run = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(opts)
            .args(["sh", "-c", "touch up; exec sleep 100"])
            .start();
        run.poll("the app to start", || {
            sandbox.path("up").exists().then_some(())
        });
        let switches = |pid: i32| {
            let v =
                crate::harness::status_field(pid, "voluntary_ctxt_switches").unwrap_or_default();
            let n =
                crate::harness::status_field(pid, "nonvoluntary_ctxt_switches").unwrap_or_default();
            (v, n)
        };
        // Once reaper has gone to sleep after starting the app, it must not wake again.
        let pid = run.reaper_pid;
        run.poll("reaper to fall asleep", || {
            crate::harness::asleep_in_sigtimedwait(pid).then_some(())
        });
        let before = switches(run.reaper_pid);
        // A measuring window, not a synchronisation: reaper must not wake up at all in it.
        std::thread::sleep(Duration::from_secs(2));
        let after = switches(run.reaper_pid);
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 143, "{out:?}");
        assert!(!before.0.is_empty(), "no context switch counts in /proc");
        assert_eq!(
            before, after,
            "{mode:?} {opts:?}: reaper woke up while idle"
        );
    }
}

#[test]
fn reaper_never_writes_to_stdout() {
    let out = reaper(As::Pid1)
        .args(["-vvv", "-w", "sh", "-c", "sh -c 'exit 0' & wait; exit 0"])
        .run();
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "", "{out:?}");
    assert!(out.stderr.contains("reaper: "), "{out:?}");
}

/// The write end of a pipe whose reader is gone.
fn broken_pipe() -> OwnedFd {
    let mut fds = [0; 2];
    // SAFETY: a live array for the pipe's two ends.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are ours.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read_end);
    write_end
}

/// User and system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    proc_stat(pid).map_or(0, |s| s.utime + s.stime)
}

/// With a broken stderr, every debug line raises a SIGPIPE on reaper. In `--pause` mode
/// and during the teardown, as in the loop, reaper must drop those without a word: a line
/// about one would raise the next, and reaper would spin for ever (and, in pause mode,
/// never take the SIGTERM behind them, the lower-numbered SIGPIPE always coming first).
#[test]
fn a_broken_stderr_does_not_make_pause_mode_or_the_teardown_spin() {
    let run = reaper(As::Pid1)
        .stdio(|cmd| {
            cmd.stderr(broken_pipe());
        })
        .args(["-P", "-vv"])
        .timeout(Duration::from_secs(30))
        .start();
    run.signal(libc::SIGUSR1);
    let before = cpu_ticks(run.reaper_pid);
    // A measuring window: a spinning reaper burns about 100 ticks a second.
    std::thread::sleep(Duration::from_millis(500));
    let spent = cpu_ticks(run.reaper_pid) - before;
    run.signal(libc::SIGTERM);
    let out = run.wait();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(spent < 10, "pause mode spun: {spent} ticks in 0.5 s");

    for mode in BOTH {
        let sandbox = Sandbox::new("broken-stderr-teardown");
        // A leftover that takes SIGTERM without dying: the teardown waits out its grace
        // period, logging at -vv, with stderr broken.
        // (Its own stderr is not the broken pipe: a shell says "Terminated" when its sleep
        // is killed, and would die of SIGPIPE itself.)
        let script = "setsid sh -c 'trap \"touch got-term\" TERM; touch up; while :; do sleep 0.05; done' 2>/dev/null & \
                      while [ ! -e up ]; do sleep 0.01; done; exit 6";
        let mut run = reaper(mode)
            .stdio(|cmd| {
                cmd.stderr(broken_pipe());
            })
            .args(["-vv", "-t", "3"])
            .current_dir(&sandbox.dir)
            .args(["sh", "-c", script])
            .start();
        run.poll("the teardown's SIGTERM", || {
            sandbox.path("got-term").exists().then_some(())
        });
        let before = cpu_ticks(run.reaper_pid);
        std::thread::sleep(Duration::from_millis(500));
        let spent = cpu_ticks(run.reaper_pid) - before;
        let out = run.wait();
        assert_eq!(out.code, 6, "{mode:?}: {out:?}");
        assert!(
            spent < 10,
            "{mode:?}: the teardown spun: {spent} ticks in 0.5 s"
        );
    }
}

#[test]
fn pause_mode_leaves_its_working_directory_too() {
    let sandbox = Sandbox::new("pause-cwd");
    let mut run = reaper(As::Pid1).current_dir(&sandbox.dir).arg("-P").start();
    // reaper leaves its directory once it is set up, which may be after `start` returns.
    let cwd = format!("/proc/{}/cwd", run.reaper_pid);
    run.poll("reaper to leave its working directory for /", || {
        std::fs::read_link(&cwd)
            .ok()
            .filter(|d| d == Path::new("/"))
    });
    run.signal(libc::SIGTERM);
    assert_eq!(run.wait().code, 0);
}

/// Starts `run` in the sandbox with `sh -c SCRIPT` as its app and its stderr a pipe that
/// nobody reads yet (a log driver applying back-pressure); returns once the app has made
/// the file `up` and reaper has reaped every orphan (the app is its only child left), with
/// the pipe's read end.
fn start_with_an_unread_log(run: Run, sandbox: &Sandbox, script: &str) -> (Running, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: a live array for the pipe's two ends.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors were just created and are ours.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut run = run
        .current_dir(&sandbox.dir)
        .args(sh(script))
        .stdio(move |cmd| {
            cmd.stderr(write_end);
        })
        .timeout(Duration::from_secs(60))
        .start();
    run.wait_for_file(&sandbox.path("up"), "");
    let pid = run.reaper_pid;
    // And to be back in its loop: the last orphan gone from /proc is not yet its warning
    // logged (or dropped), which reaper does after the waitpid.
    run.poll("reaper to reap every orphan", || {
        (children_of(pid).len() == 1 && asleep_in_sigtimedwait(pid)).then_some(())
    });
    (run, read_end)
}

/// Reads the log pipe from now on, as a log driver that catches up would, and returns
/// once it is empty, so that reaper's next line finds room; the thread gives all it read
/// when reaper's end is closed.
fn catch_up(run: &mut Running, read_end: OwnedFd) -> std::thread::JoinHandle<String> {
    let probe = read_end.try_clone().expect("dup");
    let mut reader = std::fs::File::from(read_end);
    let drained = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = reader.read_to_string(&mut all);
        all
    });
    run.poll("the log pipe to be read empty", || {
        let mut queued: libc::c_int = -1;
        // SAFETY: FIONREAD into a live int, on a descriptor we own.
        let r = unsafe { libc::ioctl(probe.as_raw_fd(), libc::FIONREAD, &mut queued) };
        (r == 0 && queued == 0).then_some(())
    });
    drained
}

/// stderr is a pipe that its reader never reads (a log driver applying back-pressure):
/// once it is full, reaper drops its log lines instead of waiting, so it still reaps and
/// forwards. When the pipe has room again, it says how many lines it dropped.
#[test]
fn an_unread_log_pipe_never_stops_reaper() {
    let tk = testkit_str();
    for mode in BOTH {
        let sandbox = Sandbox::new("unread-log");
        // 3,000 reaped orphans, a warning each (-w): far more than the pipe's 64 KiB.
        let script = format!(
            "trap 'exit 5' TERM; '{tk}' orphans 3000; touch up; while :; do sleep 0.01; done"
        );
        let (mut run, read_end) =
            start_with_an_unread_log(reaper(mode).args(["-w", "-v"]), &sandbox, &script);
        let drained = catch_up(&mut run, read_end);
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 5, "{mode:?}: {out:?}");
        let log = drained.join().expect("reader");
        assert!(
            log.contains("reaped process"),
            "{mode:?}: the first lines are written: {}",
            &log[..log.len().min(300)]
        );
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        assert!(
            log.contains("log lines dropped: stderr could not take them at once"),
            "{mode:?}: {tail:?}"
        );
        assert!(
            log.contains("main child exited with status 5"),
            "{mode:?}: {tail:?}"
        );
    }
}

/// Issue 18.16: the same, with nothing more to log once the reader has caught up (no -v:
/// warnings only). The note used to ride on the next line, which never came; it is now
/// tried once more, without waiting, before reaper exits.
#[test]
fn the_dropped_lines_note_is_tried_once_more_before_exiting() {
    let tk = testkit_str();
    for mode in BOTH {
        let sandbox = Sandbox::new("unread-log-last");
        // 2,000 warnings of ~55 bytes: more than the pipe's 64 KiB.
        let script = format!(
            "'{tk}' orphans 2000; touch up; while [ ! -e go ]; do sleep 0.01; done; exit 4"
        );
        let (mut run, read_end) =
            start_with_an_unread_log(reaper(mode).arg("-w"), &sandbox, &script);
        let drained = catch_up(&mut run, read_end);
        std::fs::write(sandbox.path("go"), "").expect("go");
        let out = run.wait();
        assert_eq!(out.code, 4, "{mode:?}: {out:?}");
        let log = drained.join().expect("reader");
        let tail: Vec<&str> = log.lines().rev().take(3).collect();
        assert!(
            log.contains("reaped process"),
            "{mode:?}: the first lines are written: {tail:?}"
        );
        assert!(
            log.lines().last().is_some_and(
                |l| l.ends_with("log lines dropped: stderr could not take them at once")
            ),
            "{mode:?}: {tail:?}"
        );
    }
}
