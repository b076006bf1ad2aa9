//! Under a terminal: the app's group becomes the foreground group, so Ctrl-C reaches the
//! app (not reaper), and reaper exits 130.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{As, BOTH, Run, Sandbox, reaper, testkit_str};

/// A pseudo-terminal: the master for the test, the slave to be reaper's terminal.
struct Pty {
    master: std::fs::File,
    slave: OwnedFd,
}

fn open_pty() -> Pty {
    // SAFETY: standard pty calls on descriptors we own; ptsname's buffer is copied at once.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let name = CStr::from_ptr(libc::ptsname(m)).to_owned();
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(s >= 0, "open slave");
        Pty {
            master: std::fs::File::from_raw_fd(m),
            slave: OwnedFd::from_raw_fd(s),
        }
    }
}

/// Runs with the slave as stdin, stdout and stderr and as the controlling terminal of a
/// new session, as a terminal emulator or `docker run -t` would.
fn on_terminal(run: Run, pty: &Pty) -> Run {
    let (a, b, c) = (
        pty.slave.try_clone().unwrap(),
        pty.slave.try_clone().unwrap(),
        pty.slave.try_clone().unwrap(),
    );
    run.stdio(move |cmd| {
        cmd.stdin(a).stdout(b).stderr(c);
    })
    .pre_exec(|| {
        // SAFETY: in the forked child; fd 0 is the terminal.
        unsafe {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    })
}

/// Everything the master reads, as it arrives.
fn read_master(pty: &Pty) -> mpsc::Receiver<u8> {
    let mut master = pty.master.try_clone().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 || buf[..n].iter().any(|&b| tx.send(b).is_err()) {
                break;
            }
        }
    });
    rx
}

fn wait_for_output(rx: &mpsc::Receiver<u8>, needle: &str) -> String {
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + crate::harness::HANG;
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left.min(Duration::from_secs(1))) {
            Ok(b) => seen.push(b),
            Err(mpsc::RecvTimeoutError::Timeout) if !left.is_zero() => {}
            Err(e) => panic!(
                "no {needle:?} on the terminal ({e}); got {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn the_app_is_the_terminals_foreground_group() {
    for mode in BOTH {
        let sandbox = Sandbox::new("tty-fg");
        let pty = open_pty();
        let _rx = read_master(&pty);
        let out = on_terminal(reaper(mode), &pty)
            .args([
                testkit_str(),
                "inspect".into(),
                "--to".into(),
                sandbox.file("report"),
            ])
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        let report = sandbox.read("report");
        let get = |k: &str| {
            report
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .unwrap_or("?")
                .trim()
                .to_string()
        };
        assert_eq!(
            get("pgrp:"),
            get("pid:"),
            "{mode:?}: the app has its own group: {report}"
        );
        assert_eq!(
            get("tpgid:"),
            get("pgrp:"),
            "{mode:?}: the app's group is in the foreground: {report}"
        );
    }
}

#[test]
fn ctrl_c_on_the_terminal_ends_the_app_and_reaper_exits_130() {
    for mode in BOTH {
        let pty = open_pty();
        let rx = read_master(&pty);
        let run = on_terminal(reaper(mode), &pty)
            .args(["sh", "-c", "echo ready; exec sleep 100"])
            .start();
        wait_for_output(&rx, "ready");
        let mut master = pty.master.try_clone().unwrap();
        master.write_all(b"\x03").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 130, "{mode:?}: {out:?}");
        assert!(out.elapsed < Duration::from_secs(50));
        let _ = pty.master.as_raw_fd();
    }
}

#[test]
fn an_interactive_shell_has_job_control_under_reaper() {
    // A shell started by reaper can stop its foreground job with Ctrl-Z and get the
    // terminal back, which needs the terminal's foreground to be its own to give.
    let pty = open_pty();
    let rx = read_master(&pty);
    let run = on_terminal(reaper(As::Pid1), &pty)
        .env("PS1", "$ ")
        .args(["sh", "-i"])
        .start();
    let mut master = pty.master.try_clone().unwrap();
    wait_for_output(&rx, "$ ");
    // The quotes keep the terminal's echo of this line from matching what we wait for.
    master
        .write_all(b"sh -c 'echo job-st\"\"arted; exec sleep 100'\n")
        .unwrap();
    wait_for_output(&rx, "job-started");
    master.write_all(b"\x1a").unwrap();
    wait_for_output(&rx, "Stopped");
    master
        .write_all(b"kill -KILL %1; echo k\"\"illed\n")
        .unwrap();
    wait_for_output(&rx, "killed");
    // A shell that has not yet noticed its stopped job is gone warns at the first exit and
    // leaves at the second; one that has leaves at the first (the second then goes nowhere).
    master.write_all(b"exit 7\n").unwrap();
    let _ = master.write_all(b"exit 7\n");
    let out = run.wait();
    assert_eq!(out.code, 7, "{out:?}");
}

#[test]
fn children_that_keep_the_terminal_do_not_keep_reaper() {
    for mode in BOTH {
        let pty = open_pty();
        let _rx = read_master(&pty);
        let out = on_terminal(reaper(mode), &pty)
            .args(["sh", "-c", "sleep 1000 & sleep 1000 & exit 3"])
            .run();
        assert_eq!(out.code, 3, "{mode:?}: {out:?}");
        assert!(out.elapsed < Duration::from_secs(5), "{mode:?}: {out:?}");
    }
}
