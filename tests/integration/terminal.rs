//! Under a terminal: the app's group becomes the foreground group, so Ctrl-C reaches the
//! app (not reaper), and reaper exits 130.

use std::ffi::CStr;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::mpsc;
use std::time::Duration;

use crate::harness::{
    As, BOTH, Run, Running, Sandbox, children_of, field, inspect, proc_stat, reaper,
};

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
            .args(inspect(&sandbox))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        let report = sandbox.read("report");
        let get = |k: &str| field(&report, k);
        assert_eq!(get("pid").len(), 1, "{mode:?}: {report}");
        assert_eq!(
            get("pgrp"),
            get("pid"),
            "{mode:?}: the app has its own group: {report}"
        );
        assert_eq!(
            get("tpgid"),
            get("pgrp"),
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

/// A shell on a pseudo-terminal of its own, as a terminal emulator starts one: the session
/// leader (so its group is visible, as a login shell's is) and PID 1 of a PID namespace of
/// the test's own, so that a reaper started from it is fenced in that namespace. Killed,
/// namespace and all, when dropped.
struct Shell {
    pty: Pty,
    rx: mpsc::Receiver<u8>,
    child: std::process::Child,
}

impl Shell {
    fn start(shell: &[&str]) -> Shell {
        use std::os::unix::process::CommandExt;
        let pty = open_pty();
        let rx = read_master(&pty);
        let slave = || std::process::Stdio::from(pty.slave.try_clone().unwrap());
        let mut cmd = std::process::Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .args(["setsid", "--ctty"])
            .args(shell)
            .env("PS1", "$ ")
            .env("TERM", "dumb")
            .stdin(slave())
            .stdout(slave())
            .stderr(slave());
        // SAFETY: in the forked child, before exec: a new session, so that `setsid --ctty`
        // inside the namespace may make the terminal its own.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let child = cmd.spawn().expect("unshare");
        Shell { pty, rx, child }
    }

    fn interactive() -> Shell {
        let shell = Shell::start(&["bash", "--norc", "--noprofile", "-i"]);
        shell.expect("$ ");
        shell
    }

    fn send(&self, text: &str) {
        let mut master = self.pty.master.try_clone().unwrap();
        master.write_all(text.as_bytes()).unwrap();
    }

    fn expect(&self, needle: &str) -> String {
        wait_for_output(&self.rx, needle)
    }

    /// Types `LAUNCHER reaper -- sh -c 'touch STARTED; APP' AFTER` and waits until the app
    /// has made the file STARTED in `sandbox`.
    fn start_app(&self, sandbox: &Sandbox, launcher: &str, app: &str, after: &str) {
        let started = sandbox.file("started");
        self.send(&format!(
            "{launcher}{} -- sh -c 'touch {started}; {app}'{after}\n",
            reaper_path()
        ));
        wait_for_path(&sandbox.path("started"));
    }

    /// Asserts that the shell's own process group is the terminal's foreground group: it
    /// has its terminal back. `what` names the case in a failure.
    fn assert_in_the_foreground(&self, what: &str) {
        self.send("echo ids $(ps -o tpgid= -p $$) $(ps -o pgid= -p $$) al\"\"ive-$((6*7))\n");
        let out = self.expect("alive-42");
        let line = out
            .lines()
            .rev()
            .find(|l| l.contains("alive-42"))
            .unwrap_or("");
        let ids: Vec<&str> = line.split_whitespace().skip(1).take(2).collect();
        assert_eq!(ids.len(), 2, "{what}: {out:?}");
        assert_eq!(
            ids[0], ids[1],
            "{what}: the shell's group is in the foreground: {out:?}"
        );
    }

    /// Runs `reaper ARGS -- sh -c 'exec sleep SECONDS'` (then `REDIRECT`) in the
    /// foreground, and stops it with Ctrl-Z once the app sleeps in the foreground (see
    /// wait_until_asleep_in_the_foreground), until the shell says it stopped. Returns the
    /// app's pid. `seconds` is a number no other process in the test has as an argument.
    fn stop_with_ctrl_z(&self, args: &str, seconds: &str, redirect: &str) -> i32 {
        self.send(&format!(
            "{} {args} -- sh -c 'exec sleep {seconds}' {redirect}\n",
            reaper_path()
        ));
        let app = wait_for_process(self.child.id(), seconds);
        // Asleep in sleep itself: the exec is done, and the app's group has the terminal.
        wait_until_asleep_in_the_foreground(app);
        self.send("\x1a");
        self.expect("Stopped");
        app
    }

    /// `fg` continues the stopped `app` in the foreground, and Ctrl-C then ends it: the
    /// shell sees status 130.
    fn fg_then_ctrl_c(&self, app: i32) {
        self.send("fg\n");
        wait_for_stat(app, "fg continues the app, in the foreground", |s| {
            s.state != 'T' && s.tpgid == s.pgrp
        });
        self.send("\x03");
        self.send("echo st\"\"=$?\n");
        self.expect("st=130");
    }
}

impl Drop for Shell {
    fn drop(&mut self) {
        // --kill-child: the namespace's PID 1, and so everything in it, dies with unshare.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The reaper under test as a shell command word: with `REAPER_TEST_LAUNCHER` (qemu-user
/// for a binary of another architecture) in front of it.
fn reaper_path() -> String {
    let bin = crate::harness::reaper_bin().to_string_lossy().into_owned();
    match crate::harness::launcher() {
        Some(launcher) => {
            let mut word = launcher.to_string_lossy().into_owned();
            for arg in crate::harness::launcher_args() {
                word = format!("{word} {arg}");
            }
            format!("{word} {bin}")
        }
        None => bin,
    }
}

/// Waits up to `HANG` for `path` to exist.
fn wait_for_path(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + crate::harness::HANG;
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `reaper app &` in an interactive shell, directly and in a new PID namespace (where the
/// shell's groups read as 0): the shell keeps its terminal and goes on reading commands.
#[test]
fn a_reaper_in_the_background_leaves_the_terminal_to_the_shell() {
    for launcher in ["", "unshare --pid --fork --mount-proc "] {
        let sandbox = Sandbox::new("tty-bg");
        let shell = Shell::interactive();
        // The app runs: had reaper taken the terminal, it would have before starting it.
        shell.start_app(&sandbox, launcher, "sleep 2", " &");
        shell.assert_in_the_foreground(&format!("{launcher:?}"));
        shell.send("wait; echo do\"\"ne\n");
        shell.expect("done");
    }
}

/// `reaper app` in the foreground of an interactive shell, in a new PID namespace (groups
/// invisible) and directly: Ctrl-C reaches the app, and reaper exits 130.
#[test]
fn a_reaper_in_the_foreground_passes_ctrl_c_on_in_a_new_pid_namespace_too() {
    for launcher in ["unshare --pid --fork --mount-proc ", ""] {
        let sandbox = Sandbox::new("tty-fg-ns");
        let shell = Shell::interactive();
        shell.start_app(&sandbox, launcher, "exec sleep 100", "; echo st\"\"atus=$?");
        shell.send("\x03");
        shell.expect("status=130");
    }
}

/// A script that reads the terminal after reaper has run: reaper gave the foreground back
/// to the script's group when its app ended, so the read works.
#[test]
fn the_terminal_is_given_back_when_the_app_ends() {
    let sandbox = Sandbox::new("tty-back");
    let script = format!(
        "{} -- sh -c 'touch {}'; read x; echo go\"\"t=$x",
        reaper_path(),
        sandbox.file("ran")
    );
    let shell = Shell::start(&["sh", "-c", &script]);
    wait_for_path(&sandbox.path("ran"));
    shell.send("hello\n");
    shell.expect("got=hello");
}

/// The process below `root` (the test's view of pids) whose command line has `word` as one of
/// its arguments, once there is one: reaper, or its app, under a shell of the test's.
fn wait_for_process(root: u32, word: &str) -> i32 {
    let deadline = std::time::Instant::now() + crate::harness::HANG;
    loop {
        let mut frontier = vec![root as i32];
        while let Some(pid) = frontier.pop() {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.split(|&b| b == 0).any(|a| a == word.as_bytes()) {
                return pid;
            }
            frontier.extend(children_of(pid));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no process with the argument {word:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Polls `/proc/PID/stat` until `f` holds, for up to `HANG`.
fn wait_for_stat(pid: i32, what: &str, f: impl Fn(&crate::sys::Stat) -> bool) {
    let deadline = std::time::Instant::now() + crate::harness::HANG;
    while !proc_stat(pid).is_some_and(|s| f(&s)) {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: {:?}",
            proc_stat(pid)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits until `app` sleeps in `sleep` itself (its exec done) with its group in the
/// terminal's foreground: a Ctrl-Z then stops it, not a shell caught in vfork.
fn wait_until_asleep_in_the_foreground(app: i32) {
    wait_for_stat(app, "the app to sleep in the foreground", |s| {
        s.state == 'S'
            && s.tpgid == s.pgrp
            && std::fs::read_to_string(format!("/proc/{app}/comm")).is_ok_and(|c| c == "sleep\n")
    });
}

/// Everything the terminal holds for its master now, without waiting for more.
fn drain(master: &mut std::fs::File) -> String {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let m = master.as_raw_fd();
        libc::fcntl(
            m,
            libc::F_SETFL,
            libc::fcntl(m, libc::F_GETFL) | libc::O_NONBLOCK,
        );
    }
    let mut held = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = master.read(&mut buf) {
        if n == 0 {
            break;
        }
        held.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&held).into_owned()
}

/// Ctrl-Z on an app under reaper (not PID 1) in an interactive shell: the shell sees the
/// job stopped and gets its terminal back; `fg` continues the app, which gets the
/// terminal again (Ctrl-C then ends it: 130).
///
/// The app is one process asleep, not a shell loop that forks: a shell stops on Ctrl-Z only
/// when it is not in the middle of `vfork` (dash, Debian's sh, vforks each command). A
/// Ctrl-Z between its vfork and the child's exec stops the child and leaves the shell
/// waiting in the kernel for it: the shell never stops, with or without reaper (a plain
/// `sh -c 'while :; do date; sleep 0.02; done'` in bash hangs the same way, 4 runs in 8
/// beside a CPU hog). That, not reaper, is what made this test fail on a loaded machine.
#[test]
fn ctrl_z_stops_the_job_and_fg_continues_it() {
    let shell = Shell::interactive();
    let app = shell.stop_with_ctrl_z("", "1000.25", "");
    assert_eq!(
        proc_stat(app).map(|s| s.state),
        Some('T'),
        "the app is stopped"
    );
    shell.send("echo back-at-the-pro\"\"mpt\n");
    shell.expect("back-at-the-prompt");
    shell.fg_then_ctrl_c(app);
}

/// stdin a pipe, the terminal still the controlling one: the app reads a password from
/// /dev/tty, so it must be in the foreground, as PID 1 and as a subreaper.
#[test]
fn an_app_reads_dev_tty_with_stdin_a_pipe() {
    for launcher in ["", "unshare --pid --fork --mount-proc "] {
        let shell = Shell::interactive();
        shell.send(&format!(
            "echo | {launcher}{} -- sh -c 'read x < /dev/tty; echo go\"\"t=$x'\n",
            reaper_path()
        ));
        shell.send("secret\n");
        shell.expect("got=secret");
    }
}

/// Starts `run` on `pty` with `-v` and an app that says `ready`, reads a line, echoes it
/// as `got=LINE` and then runs `then`; types Ctrl-Z and the line `hello` once it is ready.
/// Returns the run, the terminal's output from then on, and what it showed up to
/// `got=hello`: the app read the line, so nothing left it stopped.
fn ctrl_z_then_a_line(run: Run, pty: &Pty, then: &str) -> (Running, mpsc::Receiver<u8>, String) {
    let rx = read_master(pty);
    let run = on_terminal(run, pty)
        .args(["-v", "--", "sh", "-c"])
        .arg(format!("echo ready; read x; echo got=$x; {then}"))
        .start();
    let mut master = pty.master.try_clone().unwrap();
    wait_for_output(&rx, "ready");
    master.write_all(b"\x1a").unwrap();
    master.write_all(b"hello\n").unwrap();
    let out = wait_for_output(&rx, "got=hello");
    (run, rx, out)
}

/// As PID 1 on a terminal of its own (`docker run -it`), Ctrl-Z stops the app and no shell
/// is there to continue it: reaper continues it and says so (`-v`), so the app goes on
/// reading the terminal, as an app that was itself PID 1 would never have stopped. The same
/// for SIGTTIN and SIGTTOU (here sent by the app to itself).
#[test]
fn ctrl_z_as_pid_1_continues_the_app() {
    let pty = open_pty();
    let (run, rx, out) = ctrl_z_then_a_line(
        reaper(As::Pid1),
        &pty,
        "kill -TTIN $$; kill -TTOU $$; echo sur\"\"vived",
    );
    assert!(
        out.contains("stopped by SIGTSTP: continuing it"),
        "one line says so: {out:?}"
    );
    let out = wait_for_output(&rx, "survived");
    assert!(
        out.contains("SIGTTIN") && out.contains("SIGTTOU"),
        "one line for each stop: {out:?}"
    );
    let out = run.wait();
    assert_eq!(out.code, 0, "{out:?}");
}

/// A launcher that leaves a worker behind under `--wait-all` and exits 0: with `setsid`, in
/// a session of its own, as a daemon is. `up` is created once the worker runs. It ends on
/// SIGINT or SIGQUIT, which a shell's `&` ignores and `env` sets back to their default.
fn daemonizing_launcher(up: &str, setsid: &str) -> String {
    format!("{setsid} sh -c 'touch {up}; exec env --default-signal=INT,QUIT sleep 1000' & exit 0")
}

/// The worker, once the launcher is gone and reaper has taken the terminal back: reaper's
/// only child, `sleep` by now, with SIGINT and SIGQUIT at their default (before `env` has
/// run, the worker still ignores them, and a Ctrl-C then would be lost).
fn worker_once_reaper_has_the_terminal(reaper_pid: i32) -> Option<i32> {
    let reaper = proc_stat(reaper_pid)?;
    let worker = crate::harness::only_child(reaper_pid)?;
    let ignored = crate::harness::status_field(worker, "SigIgn")
        .and_then(|m| u64::from_str_radix(&m, 16).ok())?;
    let quit_or_int = crate::sys::bit(libc::SIGINT) | crate::sys::bit(libc::SIGQUIT);
    let comm = std::fs::read_to_string(format!("/proc/{worker}/comm")).ok()?;
    (reaper.tpgid == reaper.pgrp && comm == "sleep\n" && ignored & quit_or_int == 0)
        .then_some(worker)
}

/// `--wait-all` on a terminal of its own, session leader as under `docker run -it`, as PID 1
/// and as a subreaper: once the launcher is gone, reaper has taken the terminal's
/// foreground back, so Ctrl-C (and Ctrl-\) reach reaper, which forwards them to the
/// daemon left, which ends.
#[test]
fn wait_all_takes_the_terminal_back_so_ctrl_c_reaches_the_rest() {
    for mode in BOTH {
        for (key, status) in [(b"\x03", 130), (b"\x1c", 131)] {
            let sandbox = Sandbox::new("tty-wait-all");
            let pty = open_pty();
            let _rx = read_master(&pty);
            let mut run = on_terminal(reaper(mode), &pty)
                .wrap(["setsid", "--ctty"])
                .args(["--wait-all", "--", "sh", "-c"])
                .arg(daemonizing_launcher(&sandbox.file("up"), "setsid"))
                .start();
            run.wait_for_file(&sandbox.path("up"), "");
            let reaper_pid = run.reaper_pid;
            run.poll("reaper to take the terminal back", || {
                worker_once_reaper_has_the_terminal(reaper_pid)
            });
            let mut master = pty.master.try_clone().unwrap();
            master.write_all(key).unwrap();
            let out = run.wait();
            assert_eq!(out.code, status, "{mode:?} {key:?}: {out:?}");
        }
    }
}

/// The same from an interactive job-control shell: once the launcher is gone the terminal
/// is reaper's; Ctrl-Z stops the job (the worker with it) and gives the prompt back, `fg`
/// continues it, and Ctrl-C ends the worker, and with it reaper: the prompt comes back.
/// The worker stays in the launcher's group: a daemon in a session of its own is in an
/// orphaned group, which the kernel never stops on SIGTSTP.
#[test]
fn wait_all_in_a_shell_gives_the_prompt_back_on_ctrl_c() {
    let sandbox = Sandbox::new("tty-wait-all-sh");
    let shell = Shell::interactive();
    shell.send(&format!(
        "{} --wait-all -- sh -c \"{}\"\n",
        reaper_path(),
        daemonizing_launcher(&sandbox.file("up"), "")
    ));
    wait_for_path(&sandbox.path("up"));
    let reaper_pid = wait_for_process(shell.child.id(), "--wait-all");
    let deadline = std::time::Instant::now() + crate::harness::HANG;
    let worker = loop {
        if let Some(worker) = worker_once_reaper_has_the_terminal(reaper_pid) {
            break worker;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reaper to take the terminal back: {:?}",
            proc_stat(reaper_pid)
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    shell.send("\x1a");
    shell.expect("Stopped");
    wait_for_stat(worker, "the worker to stop with the job", |s| {
        s.state == 'T'
    });
    shell.send("fg\n");
    wait_for_stat(reaper_pid, "fg to continue reaper in the foreground", |s| {
        s.state != 'T' && s.tpgid == s.pgrp
    });
    wait_for_stat(worker, "the worker to be continued", |s| s.state != 'T');
    shell.send("\x03");
    shell.send("echo st\"\"atus=$?\n");
    shell.expect("status=130");
}

/// Not PID 1, started in the background of a job-control shell: when the app stops to read
/// the terminal, reaper stops with it (`jobs` says Stopped), and `fg` gives the app the
/// terminal and continues it, so the line typed is read.
#[test]
fn a_reaper_started_in_the_background_stops_for_terminal_input_and_fg_gives_it() {
    let shell = Shell::interactive();
    shell.send(&format!(
        "{} -- sh -c 'read x </dev/tty; echo go\"\"t=$x' &\n",
        reaper_path()
    ));
    let deadline = std::time::Instant::now() + crate::harness::HANG;
    loop {
        shell.send("jobs; echo li\"\"sted\n");
        let out = shell.expect("listed");
        if out.contains("Stopped") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job never stopped: {out:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    shell.send("fg\n");
    shell.send("hello\n");
    shell.expect("got=hello");
}

/// Ctrl-Z, then `bg`: reaper goes on in the background, and when its app ends it leaves the
/// terminal to the shell (it gave the foreground back when the app stopped, and has not had
/// it since), so the shell goes on reading commands.
#[test]
fn a_reaper_continued_with_bg_leaves_the_terminal_to_the_shell() {
    let shell = Shell::interactive();
    let app = shell.stop_with_ctrl_z("", "1000.75", "");
    shell.send("bg\n");
    wait_for_stat(app, "bg to continue the app", |s| s.state != 'T');
    // SAFETY: kill has no memory-safety preconditions; the pid is this test's app.
    assert_eq!(unsafe { libc::kill(app, libc::SIGTERM) }, 0);
    shell.send("wait\n");
    shell.assert_in_the_foreground("after bg and the app's end");
}

/// A log line longer than the room a terminal has left: reaper writes what fits and goes
/// on, never waiting for the reader. `poll` says a terminal has room when it has any, so
/// reaper used to block in the kernel (`n_tty_write`) until the terminal was read (the
/// reviewer's reproduction: a pty with about 1.8 KB free, an exec error naming a long
/// path, reaper PID 1 asleep for ever). After it, no line runs on from the cut one.
#[test]
fn a_log_line_longer_than_the_room_on_the_terminal_does_not_block_reaper() {
    let pty = open_pty();
    let slave = pty.slave.as_raw_fd();
    // SAFETY: termios calls on a descriptor we own, into a zeroed struct the kernel fills.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(slave, &mut t), 0);
        // Raw: what the master reads is what was written.
        libc::cfmakeraw(&mut t);
        assert_eq!(libc::tcsetattr(slave, libc::TCSANOW, &t), 0);
    }
    // Fill it through a non-blocking description of the test's own, then read a little
    // from the master: room for less than the line reaper will write.
    let mut filler = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(format!("/proc/self/fd/{slave}"))
        .expect("open the slave");
    let chunk = [b'x'; 1024];
    let mut filled = 0;
    loop {
        match filler.write(&chunk) {
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling the terminal: {e}"),
        }
    }
    // Read from the master a KB at a time until `poll` says the terminal has room (the
    // kernel moves what is queued on in its own time), as reaper's old check asked.
    let mut master = pty.master.try_clone().unwrap();
    let mut room = [0u8; 1024];
    let mut read = 0;
    loop {
        master.read_exact(&mut room).expect("read the master");
        read += room.len();
        let mut pfd = libc::pollfd {
            fd: filler.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one pollfd on a descriptor we own.
        if unsafe { libc::poll(&mut pfd, 1, 200) } == 1 {
            break;
        }
        assert!(
            read < 8192,
            "no room on the terminal after reading {read} bytes"
        );
    }
    let long = "a".repeat(200);
    let path = format!("/nonexistent/{}", vec![long; 60].join("/"));
    let (out, err) = (
        pty.slave.try_clone().unwrap(),
        pty.slave.try_clone().unwrap(),
    );
    let done = reaper(As::Pid1)
        .arg("-v")
        .arg(&path)
        .stdio(move |cmd| {
            cmd.stdout(out).stderr(err);
        })
        // Only a hang fails here: the terminal is not read until reaper has exited.
        .timeout(Duration::from_secs(30))
        .run();
    // 126: the path is too long to run (ENAMETOOLONG).
    assert_eq!(done.code, 126, "{done:?}");
    // Now read what the terminal holds.
    let text = drain(&mut master);
    let reapers = text.trim_start_matches('x');
    assert!(
        filled > read && reapers.starts_with("reaper: cannot run '/nonexistent/aaa"),
        "{filled} {reapers:?}"
    );
    // Whole lines: every line of reaper's starts a line, none runs on from the cut one.
    for (i, _) in reapers.match_indices("reaper: ") {
        assert!(i == 0 || reapers.as_bytes()[i - 1] == b'\n', "{reapers:?}");
    }
}

/// Not PID 1, in an orphaned process group: session leader of its own terminal under a
/// waiting PID 1, as under `docker exec -it c reaper app` or `ssh -t host reaper app`. No
/// shell could continue a stopped reaper (the kernel discards the terminal's stop signals
/// for an orphaned group, but not the SIGSTOP reaper would send itself), so on Ctrl-Z
/// reaper continues the app and says so, as PID 1 does, and does not stop: the app goes
/// on reading the terminal.
#[test]
fn ctrl_z_in_an_orphaned_group_continues_the_app_and_reaper_goes_on() {
    let pty = open_pty();
    let run = reaper(As::Subreaper).wrap(["setsid", "--ctty"]);
    let (run, _rx, out) = ctrl_z_then_a_line(run, &pty, "");
    assert!(
        out.contains("stopped by SIGTSTP: continuing it (reaper's process group is orphaned"),
        "one line says so: {out:?}"
    );
    assert_ne!(
        proc_stat(run.reaper_pid).map(|s| s.state),
        Some('T'),
        "reaper is not stopped"
    );
    let out = run.wait();
    assert_eq!(out.code, 0, "{out:?}");
}

/// `--wait-all` on a terminal of its own, session leader as under `docker run -it` (PID 1)
/// or `docker exec -it` (a subreaper in an orphaned group): once the launcher is gone,
/// Ctrl-Z is forwarded to the daemon left, and no shell is there to continue it, so reaper
/// does, with one line; the daemon then ends on Ctrl-C. It stays in the launcher's group,
/// which reaper, its parent now, keeps from being orphaned: the kernel stops it.
#[test]
fn wait_all_with_no_shell_continues_the_rest_after_ctrl_z() {
    for mode in BOTH {
        let sandbox = Sandbox::new("tty-wait-all-tstp");
        let pty = open_pty();
        let rx = read_master(&pty);
        let mut run = on_terminal(reaper(mode), &pty)
            .wrap(["setsid", "--ctty"])
            .args(["-v", "--wait-all", "--", "sh", "-c"])
            .arg(daemonizing_launcher(&sandbox.file("up"), ""))
            .start();
        run.wait_for_file(&sandbox.path("up"), "");
        let reaper_pid = run.reaper_pid;
        let worker = run.poll("reaper to take the terminal back", || {
            worker_once_reaper_has_the_terminal(reaper_pid)
        });
        let mut master = pty.master.try_clone().unwrap();
        master.write_all(b"\x1a").unwrap();
        wait_for_output(&rx, "stopped by SIGTSTP: continuing them");
        wait_for_stat(worker, "the worker to be continued", |s| s.state != 'T');
        assert_ne!(
            proc_stat(reaper_pid).map(|s| s.state),
            Some('T'),
            "{mode:?}: reaper is not stopped"
        );
        master.write_all(b"\x03").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 130, "{mode:?}: {out:?}");
    }
}

/// `fg` continues the app once: the shell's SIGCONT, which continued reaper, is not
/// forwarded to the app after reaper's own (an editor or pager would redraw twice).
#[test]
fn fg_continues_the_app_once() {
    let sandbox = Sandbox::new("tty-fg-once");
    let log = sandbox.file("log");
    let shell = Shell::interactive();
    let app = shell.stop_with_ctrl_z("-vv", "1000.5", &format!("2>{log}"));
    shell.fg_then_ctrl_c(app);
    let log = std::fs::read_to_string(&log).unwrap();
    let after_stop = log
        .split_once("stopping reaper too")
        .map_or("", |(_, after)| after);
    assert!(!after_stop.is_empty(), "reaper stopped: {log}");
    assert!(
        !after_stop.contains("forwarded SIGCONT"),
        "the shell's SIGCONT is not forwarded after reaper's own: {log}"
    );
}

/// A terminal reaper may not reopen (root's, mode 0600, with reaper run as nobody, and not
/// its controlling terminal): its lines still reach it, written when `poll` says there is
/// room, rather than being dropped one and all, the note of the dropped ones included.
#[test]
fn log_lines_reach_a_terminal_reaper_may_not_reopen() {
    for mode in BOTH {
        let pty = open_pty();
        // SAFETY: fchmod on a descriptor we own.
        assert_eq!(unsafe { libc::fchmod(pty.slave.as_raw_fd(), 0o600) }, 0);
        let (out, err) = (
            pty.slave.try_clone().unwrap(),
            pty.slave.try_clone().unwrap(),
        );
        let done = reaper(mode)
            .wrap([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ])
            .arg("/nonexistent")
            .stdio(move |cmd| {
                cmd.stdout(out).stderr(err);
            })
            .timeout(Duration::from_secs(30))
            .run();
        assert_eq!(done.code, 127, "{mode:?}: {done:?}");
        let text = drain(&mut pty.master.try_clone().unwrap());
        assert!(
            text.contains("reaper: cannot run '/nonexistent'"),
            "{mode:?}: {text:?}"
        );
    }
}

/// `--restart-signal` (issue 22.6): the new run's group gets the terminal's foreground, as
/// the first did, so Ctrl-C reaches it.
#[test]
fn a_restarted_app_gets_the_terminal_s_foreground() {
    for mode in BOTH {
        let pty = open_pty();
        let rx = read_master(&pty);
        let app = r#"read -r _ _ _ _ g _ _ t _ < /proc/$$/stat; echo "fg $g $t ."; exec sleep 100"#;
        let run = on_terminal(reaper(mode), &pty)
            .args(["--restart-signal", "USR1", "sh", "-c", app])
            .start();
        let pair = |text: &str| -> (String, String) {
            let line = text.lines().rev().find(|l| l.starts_with("fg ")).unwrap();
            let w: Vec<&str> = line.split(' ').collect();
            (w[1].to_string(), w[2].to_string())
        };
        let (g1, t1) = pair(&wait_for_output(&rx, " ."));
        assert_eq!(g1, t1, "{mode:?}: the first run has the foreground");
        run.signal(libc::SIGUSR1);
        let (g2, t2) = pair(&wait_for_output(&rx, " ."));
        assert_ne!(g1, g2, "{mode:?}: a new group");
        assert_eq!(g2, t2, "{mode:?}: the new run has the foreground");
        let mut master = pty.master.try_clone().unwrap();
        master.write_all(b"\x03").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 130, "{mode:?}: Ctrl-C ended the new run: {out:?}");
    }
}
