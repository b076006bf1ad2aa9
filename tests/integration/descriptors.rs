//! Descriptors reaper inherited are the app's alone: reaper closes its own copies once the
//! app has them, so a reader sees EOF when the app closes a pipe.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use crate::harness::{BOTH, Sandbox, reaper, sh};

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

#[test]
fn the_reader_sees_eof_when_the_app_closes_an_inherited_pipe() {
    for mode in BOTH {
        let sandbox = Sandbox::new("eof");
        let fifo = sandbox.file("fifo");
        let c_fifo = CString::new(sandbox.path("fifo").as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
        // Non-blocking, so that opening it waits for no writer and reads never block.
        let mut reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .expect("open the FIFO");
        let mut running = reaper(mode)
            .wrap(fifo_as_fd3(&fifo))
            .args(sh(&format!(
                "echo started >&3; exec 3>&-; exec sleep {APP_RUNS}"
            )))
            .start();

        // The app has fd 3 at start: its line arrives. Until a writer has come, a read
        // says 0 too, so EOF counts only after the line.
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let mut started: Option<Instant> = None;
        let eof_after = running.poll("the app's line, then EOF", || {
            match reader.read(&mut buf) {
                Ok(0) if started.is_some() => return started.map(|t| t.elapsed()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read the FIFO: {e}"),
            }
            if started.is_none() && got == b"started\n" {
                started = Some(Instant::now());
            }
            if started.is_some_and(|t| t.elapsed() > EOF_WITHIN) {
                panic!(
                    "{mode:?}: no EOF {EOF_WITHIN:?} after the app closed its fd 3 \
                     (it runs {APP_RUNS} s): someone else still holds the FIFO open"
                );
            }
            None
        });
        eprintln!("{mode:?}: EOF {eof_after:?} after the app's line");
        running.signal(libc::SIGTERM);
        let out = running.wait();
        assert_eq!(out.code, 143, "{mode:?}: {out:?}");
    }
}
