//! Descriptors reaper inherited are the app's alone: reaper closes its own copies once the
//! app has them, so a reader sees EOF when the app closes a pipe, and socket activation
//! (`LISTEN_PID`, `LISTEN_FDS`) names the app, not reaper.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use crate::harness::{
    As, BOTH, Outcome, Running, Sandbox, field, inspect, reaper, sh, testkit_str,
};

/// How long the app runs in the EOF test, and how soon the reader must see EOF: far less.
const APP_RUNS: &str = "30";
const EOF_WITHIN: Duration = Duration::from_secs(10);

/// Opens `fifo` as fd 3 and execs the rest: reaper gets the FIFO from this wrapper alone
/// (not from `unshare` or the waiting PID 1, which would hold it open themselves).
fn fifo_as_fd3(fifo: &str) -> [String; 4] {
    [
        "sh".into(),
        "-c".into(),
        r#"exec 3>"$0"; exec "$@""#.into(),
        fifo.into(),
    ]
}

/// A FIFO in `sandbox`, and its read end, non-blocking: opening it waits for no writer,
/// and reads never block.
fn fifo_and_reader(sandbox: &Sandbox) -> (String, File) {
    let c_fifo = CString::new(sandbox.path("fifo").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    let reader = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(sandbox.path("fifo"))
        .expect("open the FIFO");
    (sandbox.file("fifo"), reader)
}

/// Reads the FIFO until it has held `line` and then reached EOF; returns the time from
/// the line to EOF, and fails if EOF takes longer than `EOF_WITHIN`. Until a writer has
/// come, a read says 0 too, so EOF counts only after the line.
fn eof_after_line(running: &mut Running, reader: &mut File, line: &str, what: &str) -> Duration {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let mut seen: Option<Instant> = None;
    running.poll("the line, then EOF", || {
        match reader.read(&mut buf) {
            Ok(0) if seen.is_some() => return seen.map(|t| t.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => panic!("read the FIFO: {e}"),
        }
        if seen.is_none() && got == line.as_bytes() {
            seen = Some(Instant::now());
        }
        if seen.is_some_and(|t| t.elapsed() > EOF_WITHIN) {
            panic!("no EOF {EOF_WITHIN:?} after {what}: someone else still holds the FIFO open");
        }
        None
    })
}

#[test]
fn the_reader_sees_eof_when_the_app_closes_an_inherited_pipe() {
    for mode in BOTH {
        let sandbox = Sandbox::new("eof");
        let (fifo, mut reader) = fifo_and_reader(&sandbox);
        let mut running = reaper(mode)
            .wrap(fifo_as_fd3(&fifo))
            .args(sh(&format!(
                "echo started >&3; exec 3>&-; exec sleep {APP_RUNS}"
            )))
            .start();
        // The app has fd 3 at start: its line arrives.
        let what = format!("the app closed its fd 3 (it runs {APP_RUNS} s) ({mode:?})");
        let eof_after = eof_after_line(&mut running, &mut reader, "started\n", &what);
        eprintln!("{mode:?}: EOF {eof_after:?} after the app's line");
        running.signal(libc::SIGTERM);
        let out = running.wait();
        assert_eq!(out.code, 143, "{mode:?}: {out:?}");
    }
}

#[test]
fn pause_mode_holds_no_inherited_pipe_either() {
    for mode in BOTH {
        let sandbox = Sandbox::new("eof-pause");
        let (fifo, mut reader) = fifo_and_reader(&sandbox);
        let mut running = reaper(mode)
            .wrap([
                "sh",
                "-c",
                r#"exec 3>"$0"; echo wrapped >&3; exec "$@""#,
                &fifo,
            ])
            .arg("--pause")
            .start();
        let what = format!("reaper --pause started ({mode:?})");
        eof_after_line(&mut running, &mut reader, "wrapped\n", &what);
        running.signal(libc::SIGTERM);
        let out = running.wait();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
    }
}

/// Runs the rest with `LISTEN_PID` set to the pid that execs it (reaper's).
const LISTEN_PID_IS_REAPERS: [&str; 4] = ["sh", "-c", r#"LISTEN_PID=$$ exec "$@""#, "sh"];

/// The `pid` and `LISTEN_PID` of testkit listen's answer, which must be one number.
fn answered_pid(answer: &str) -> String {
    let words: Vec<&str> = answer.split_whitespace().collect();
    assert!(
        words.len() >= 3 && words[0] == "pid",
        "not testkit listen's answer: {answer:?}"
    );
    assert_eq!(
        words[2].strip_prefix("LISTEN_PID="),
        Some(words[1]),
        "{answer:?}"
    );
    words[1].to_string()
}

/// Connects to `port` until something listens there, then reads its answer to the end;
/// `None` if nothing answers in time. The time is from connecting to the answer.
fn ask(port: u16, deadline: Instant) -> Option<(String, Duration)> {
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => return None,
        }
    };
    let asked = Instant::now();
    let left = deadline.saturating_duration_since(asked);
    stream
        .set_read_timeout(Some(left.max(Duration::from_millis(1))))
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    (!answer.is_empty()).then(|| (answer, asked.elapsed()))
}

#[test]
fn a_listen_pid_naming_reaper_names_the_app() {
    for mode in BOTH {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().unwrap().port();
        let fd = listener.as_raw_fd();
        let running = reaper(mode)
            .env("LISTEN_FDS", "1")
            .env("LISTEN_FDNAMES", "web")
            .wrap(LISTEN_PID_IS_REAPERS)
            .pre_exec(move || {
                // SAFETY: fcntl and dup2 in the forked child: the socket becomes fd 3,
                // not close-on-exec.
                unsafe {
                    if fd == 3 {
                        libc::fcntl(3, libc::F_SETFD, 0);
                    } else {
                        libc::dup2(fd, 3);
                    }
                }
                Ok(())
            })
            .args([testkit_str(), "listen".into()])
            .start();
        // reaper has it now (so do unshare and the waiting PID 1: no matter here).
        drop(listener);
        let answer = ask(port, Instant::now() + Duration::from_secs(10));
        let out = running.wait();
        the_app_answered(mode, port, answer, &out);
    }
}

/// The app took the socket (so `LISTEN_PID` named it, not PID 1) and answered with the
/// other variables unchanged, and reaper passed on its status.
fn the_app_answered(mode: As, port: u16, answer: Option<(String, Duration)>, out: &Outcome) {
    let Some((answer, took)) = answer else {
        panic!("{mode:?}: no answer on port {port}: {out:?}");
    };
    eprintln!("{mode:?}: answered in {took:?}");
    let pid = answered_pid(&answer);
    assert_ne!(pid, "1", "{mode:?}: the app cannot be PID 1 under reaper");
    assert!(
        answer.ends_with(" LISTEN_FDS=1 LISTEN_FDNAMES=web\n"),
        "{mode:?}: {answer:?}"
    );
    assert_eq!(out.code, 0, "{mode:?}: {out:?}");
}

#[test]
fn a_listen_pid_naming_another_process_passes_unchanged() {
    for mode in BOTH {
        let sandbox = Sandbox::new("listen-pid");
        // No pid in a fresh namespace is this high while the test runs.
        let out = reaper(mode)
            .env("LISTEN_PID", "4242")
            .env("LISTEN_FDS", "1")
            .args(inspect(&sandbox))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let report = sandbox.read("report");
        let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        for entry in ["LISTEN_PID=4242", "LISTEN_FDS=1"] {
            assert!(
                field(&report, "env").contains(&hex(entry).as_str()),
                "{mode:?}: {entry} missing: {report}"
            );
        }
    }
}

/// Debian's `systemd-socket-activate` listens on a loopback port, and on the first
/// connection execs reaper with the socket as fd 3 and `LISTEN_PID` its own pid, which is
/// then reaper's: the app must take the socket and answer.
#[test]
fn socket_activation_through_systemd_socket_activate() {
    assert!(
        std::process::Command::new("systemd-socket-activate")
            .arg("--help")
            .output()
            .is_ok_and(|o| o.status.success()),
        "systemd-socket-activate is missing (Debian package systemd; tests/prerequisites.sh installs it)"
    );
    for mode in BOTH {
        // A free port: the kernel picks one, and it is let go just before use.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("find a free loopback port")
            .port();
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = std::thread::spawn(move || ask(port, deadline));
        let out = reaper(mode)
            .wrap([
                "systemd-socket-activate".to_string(),
                format!("--listen=127.0.0.1:{port}"),
                "--fdname=web".into(),
                "--setenv=PATH".into(),
            ])
            .args([testkit_str(), "listen".into()])
            .run();
        let answer = client.join().expect("client thread");
        the_app_answered(mode, port, answer, &out);
    }
}
