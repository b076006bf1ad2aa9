//! Hardened containers (issue 19): under a seccomp profile that refuses a syscall reaper
//! uses, reaper falls back to another way or says so; it never goes quiet and never spins.
//! The profile is installed by `testkit seccomp` just before reaper is exec'd, as a
//! runtime installs one before the container's PID 1 starts.

use std::time::{Duration, Instant};

use crate::harness::{BOTH, Running, Sandbox, proc_stat, reaper, sh, testkit_str};

/// `testkit seccomp ERRNO SYSCALLS` words, to run reaper through.
fn profile(errno: &str, syscalls: &str) -> [String; 4] {
    [
        testkit_str(),
        "seccomp".into(),
        errno.into(),
        syscalls.into(),
    ]
}

/// A profile that answers EPERM for pwritev2 (as Docker-style profiles answer for every
/// call they do not list) left reaper with no log line at all, the exec error included.
#[test]
fn with_pwritev2_refused_the_exec_error_is_still_printed() {
    for mode in BOTH {
        let out = reaper(mode)
            .wrap(profile("EPERM", "pwritev2"))
            .arg("/nonexistent")
            .timeout(Duration::from_secs(30))
            .run();
        assert_eq!(out.code, 127, "{mode:?}: {out:?}");
        assert!(
            out.stderr.contains("cannot run '/nonexistent'"),
            "{mode:?}: {out:?}"
        );
    }
}

/// reaper's CPU time so far, in nanoseconds (schedstat's first field: finer than stat's
/// clock ticks).
fn cpu_ns(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Asserts that reaper sleeps, not spins, while its app runs: once it has first gone to
/// sleep (on a loaded machine it may still be starting when the app is already up; a
/// reaper that spins never does), over 40 looks at it its state is never R, and the CPU
/// time it takes is well below the wall time.
fn assert_asleep(run: &mut Running, what: &str) {
    let pid = run.reaper_pid;
    run.poll("reaper to go to sleep", || {
        (proc_stat(pid).map(|s| s.state) == Some('S')).then_some(())
    });
    let (cpu0, t0) = (cpu_ns(pid), Instant::now());
    let mut looks = 0;
    run.poll("40 looks at reaper", || {
        let state = proc_stat(pid).map(|s| s.state);
        assert_ne!(state, Some('R'), "{what}: reaper runs while idle");
        looks += 1;
        (looks >= 40).then_some(())
    });
    let (cpu, wall) = (cpu_ns(pid) - cpu0, t0.elapsed().as_nanos() as u64);
    assert!(
        cpu < wall / 10,
        "{what}: reaper spun: {cpu} ns of CPU in {wall} ns"
    );
}

/// With rt_sigtimedwait refused (EPERM, or ENOSYS), reaper spun a CPU for ever, reaping
/// and forwarding nothing. It now waits on a signalfd: the app's exit is seen, its status
/// passed on, and SIGTERM forwarded.
#[test]
fn with_rt_sigtimedwait_refused_reaper_waits_on_a_signalfd() {
    for mode in BOTH {
        for errno in ["EPERM", "ENOSYS"] {
            let what = format!("{mode:?} {errno}");
            let sandbox = Sandbox::new("no-sigtimedwait");
            let mut run = reaper(mode)
                .wrap(profile(errno, "rt_sigtimedwait"))
                .current_dir(&sandbox.dir)
                .args(sh(
                    "trap 'exit 42' TERM; touch ready; while [ ! -e go ]; do sleep 0.01; done; \
                     touch going; sleep 1000 & wait",
                ))
                .timeout(Duration::from_secs(30))
                .start();
            run.wait_for_file(&sandbox.path("ready"), "");
            assert_asleep(&mut run, &what);
            std::fs::write(sandbox.path("go"), "").expect("go");
            run.wait_for_file(&sandbox.path("going"), "");
            run.signal(libc::SIGTERM);
            let out = run.wait();
            assert_eq!(out.code, 42, "{what}: {out:?}");

            let out = reaper(mode)
                .wrap(profile(errno, "rt_sigtimedwait"))
                .args(sh("exit 7"))
                .timeout(Duration::from_secs(30))
                .run();
            assert_eq!(out.code, 7, "{what}: {out:?}");
        }
    }
}

/// With no way to wait for signals at all, reaper says so in one line and ends as an init
/// must: the teardown, then status 1.
#[test]
fn with_no_way_to_wait_for_signals_reaper_says_so_and_ends() {
    for mode in BOTH {
        let out = reaper(mode)
            .wrap(profile("EPERM", "rt_sigtimedwait,signalfd4,signalfd"))
            .args(["-t", "10"])
            .args(sh("sleep 1000"))
            .timeout(Duration::from_secs(30))
            .run();
        assert_eq!(out.code, 1, "{mode:?}: {out:?}");
        let said: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("cannot wait for signals"))
            .collect();
        assert_eq!(said.len(), 1, "{mode:?}: {out:?}");
    }
}

/// The guard page of the child's stack, refused by a profile, was dropped without a word.
#[test]
fn a_refused_guard_page_is_said_and_the_app_runs() {
    for mode in BOTH {
        let out = reaper(mode)
            .wrap(profile("EPERM", "mprotect=none"))
            .args(["-vv", "sh", "-c", "exit 3"])
            .timeout(Duration::from_secs(30))
            .run();
        assert_eq!(out.code, 3, "{mode:?}: {out:?}");
        assert!(
            out.stderr
                .contains("failed to protect the guard page of the child's stack"),
            "{mode:?}: {out:?}"
        );
    }
}

/// With pwritev2 refused, stderr a pipe with one free page (so `poll` says it has room)
/// and a log line longer than that: reaper used to make one plain write of the whole
/// line, which waited for the reader. It now writes at most PIPE_BUF bytes per `poll`: what
/// fits goes out, the rest is given up, and reaper goes on.
#[test]
fn with_pwritev2_refused_a_long_line_to_a_nearly_full_pipe_does_not_block() {
    use std::io::{Read, Write};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    for mode in BOTH {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills the two descriptors, which we then own.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: just made, owned by nothing else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let set_nonblock = |fd: i32, on: bool| {
            // SAFETY: fcntl on a descriptor we own.
            unsafe {
                let fl = libc::fcntl(fd, libc::F_GETFL);
                let fl = if on {
                    fl | libc::O_NONBLOCK
                } else {
                    fl & !libc::O_NONBLOCK
                };
                assert_eq!(libc::fcntl(fd, libc::F_SETFL, fl), 0);
            }
        };
        // Fill it, then free one page: reaper gets the write end blocking, as a runtime's.
        set_nonblock(w.as_raw_fd(), true);
        let mut writer = std::fs::File::from(w.try_clone().unwrap());
        let mut filled = 0;
        while let Ok(n) = writer.write(&[b'x'; 4096]) {
            filled += n;
        }
        set_nonblock(w.as_raw_fd(), false);
        let mut reader = std::fs::File::from(r);
        let mut page = [0u8; 4096];
        reader.read_exact(&mut page).expect("read a page");
        let long = "a".repeat(200);
        let path = format!("/nonexistent/{}", vec![long; 60].join("/"));
        let out = reaper(mode)
            .wrap(profile("EPERM", "pwritev2"))
            .arg(&path)
            .stdio(move |cmd| {
                cmd.stderr(w);
            })
            // Only a hang fails here: the pipe is not read until reaper has exited.
            .timeout(Duration::from_secs(30))
            .run();
        // 126: the path is too long to run (ENAMETOOLONG).
        assert_eq!(out.code, 126, "{mode:?}: {out:?}");
        drop(writer);
        let mut held = Vec::new();
        reader.read_to_end(&mut held).expect("read the pipe");
        let text = String::from_utf8_lossy(&held);
        let reapers = text.trim_start_matches('x');
        assert!(
            filled > 4096 && reapers.starts_with("reaper: cannot run '/nonexistent/aaa"),
            "{mode:?}: {filled} {reapers:?}"
        );
    }
}
