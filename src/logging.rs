//! Log lines on stderr, each prefixed `reaper:`; and the one-off lines printed before
//! logging is up.
//!
//! Nothing here may panic, block or report failure: stderr may be closed, a full pipe, a
//! pipe nobody reads, or a terminal stopped with Ctrl-S, and none of that may change what
//! reaper does or how it exits. (std's `eprintln!` panics on a broken pipe, so it is never
//! used.) A line that cannot be written at once is dropped and counted, and the count is
//! reported before the next line that can be.
//!
//! stderr's open file description is shared with the application (a container runtime's
//! log pipe, say), so reaper must not set O_NONBLOCK on it: each write asks not to wait
//! instead (`RWF_NOWAIT`, which pipes and sockets honour). Where the kernel does not take
//! that flag (terminals, most files), or a seccomp profile refuses `pwritev2`, reaper
//! first asks `poll` whether a plain `write` would block. The count of dropped lines is
//! tried once more just before reaper exits.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use log::{Level, LevelFilter};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};

/// Writes one line to stderr, prefixed `reaper: `; never blocks, never fails.
pub fn print_line(line: &str) {
    let mut buf = Vec::with_capacity(line.len() + 9);
    buf.extend_from_slice(b"reaper: ");
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let _ = Stderr.write(&buf);
}

/// Lines dropped since the last one written.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// The kernel refused `pwritev2` with `RWF_NOWAIT` on stderr once (for any reason but
/// "would block"): it will again, so go by `poll` and `write` for the rest of reaper's life.
static NO_NOWAIT: AtomicBool = AtomicBool::new(false);

/// stderr, written without ever waiting. Each `write` is one whole log line, which is
/// either written or dropped; it always reports success, so that no caller retries.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        if !write_dropped_note() {
            DROPPED.fetch_add(1, Ordering::Relaxed);
            return Ok(line.len());
        }
        if !write_now(line) {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the note about lines dropped since the last one written, if one is owed;
/// whether nothing is owed any more.
fn write_dropped_note() -> bool {
    let dropped = DROPPED.load(Ordering::Relaxed);
    if dropped == 0 {
        return true;
    }
    let note = format!(
        "reaper: warning: {dropped} log lines dropped: stderr could not take them at once\n"
    );
    if !write_now(note.as_bytes()) {
        return false;
    }
    DROPPED.fetch_sub(dropped, Ordering::Relaxed);
    true
}

/// Tries once more, without waiting, to say how many lines were dropped: for reaper's
/// last moment, when no later line would carry the note (the reader of a log pipe may
/// have caught up since).
pub fn last_word() {
    let _ = write_dropped_note();
}

/// Writes `buf` to stderr if that can be done without waiting; whether it was. A write
/// that fails for any other reason (stderr closed, a broken pipe) counts as done: there is
/// nobody to tell.
fn write_now(mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        let written = if NO_NOWAIT.load(Ordering::Relaxed) {
            write_if_room(buf)
        } else {
            match write_nowait(buf) {
                // The kernel, or a seccomp profile (which answers EPERM for every call it
                // does not list), refuses the call or the flag, not this one write: go by
                // `poll` from now on.
                Err(e) if e != Errno::EAGAIN && e != Errno::EINTR => {
                    NO_NOWAIT.store(true, Ordering::Relaxed);
                    write_if_room(buf)
                }
                other => other,
            }
        };
        match written {
            Ok(0) | Err(Errno::EAGAIN) => return false,
            Ok(n) => buf = &buf[n..],
            Err(Errno::EINTR) => {}
            Err(_) => return true,
        }
    }
    true
}

/// A plain write to stderr, made only if `poll` says that it can take some at once
/// (EAGAIN if not, or if `poll` itself is refused: a write could then block).
fn write_if_room(buf: &[u8]) -> Result<usize, Errno> {
    let stderr = io::stderr();
    let mut fd = [PollFd::new(stderr.as_fd(), PollFlags::POLLOUT)];
    match nix::poll::poll(&mut fd, PollTimeout::ZERO) {
        Ok(0) | Err(_) => Err(Errno::EAGAIN),
        _ => nix::unistd::write(&stderr, buf),
    }
}

/// One `pwritev2(RWF_NOWAIT)` to stderr at its current position: EAGAIN instead of waiting.
fn write_nowait(buf: &[u8]) -> Result<usize, Errno> {
    crate::sys::fd::write_nowait(io::stderr().as_fd(), buf)
}

/// Sets up the logger at `level`, or with the filter in `REAPER_LOG` when it is set.
pub fn init(level: LevelFilter, spec: Option<&str>) {
    let mut builder = env_logger::Builder::new();
    builder
        .target(env_logger::Target::Pipe(Box::new(Stderr)))
        .write_style(env_logger::WriteStyle::Never)
        .format(|buf, record| {
            let tag = match record.level() {
                Level::Error => "",
                Level::Warn => "warning: ",
                Level::Info => "",
                Level::Debug => "debug: ",
                Level::Trace => "trace: ",
            };
            writeln!(buf, "reaper: {tag}{}", record.args())
        });
    let mut bad_spec = None;
    match spec {
        Some(spec) if is_valid_spec(spec) => {
            builder.parse_filters(spec);
        }
        Some(spec) => {
            bad_spec = Some(spec);
            builder.filter_level(level);
        }
        None => {
            builder.filter_level(level);
        }
    }
    // Fails only if a logger is set already, which cannot happen: this runs once.
    let _ = builder.try_init();
    if let Some(spec) = bad_spec {
        log::warn!(
            "ignoring REAPER_LOG='{}': not an env_logger filter (e.g. 'debug')",
            crate::error::one_line(spec)
        );
    }
}

/// Whether env_logger would take `spec` without complaint. env_logger reports a bad spec
/// with `eprintln!`, which panics on a broken stderr, so reaper checks first and says it
/// itself. The rules are env_logger's: `[module=]level` or `module` items separated by
/// commas, then at most one `/filter`.
fn is_valid_spec(spec: &str) -> bool {
    let mut parts = spec.split('/');
    let directives = parts.next().unwrap_or("");
    if parts.nth(1).is_some() {
        return false;
    }
    directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .all(|d| {
            let mut halves = d.split('=');
            match (halves.next(), halves.next(), halves.next()) {
                (Some(_), None, _) => true,
                (Some(_), Some(level), None) => {
                    level.trim().is_empty() || level.trim().parse::<LevelFilter>().is_ok()
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        for good in [
            "debug",
            "",
            "reaper=trace",
            "warn,reaper::shutdown=debug",
            "info/teardown",
            "off",
            "garbage",
        ] {
            assert!(is_valid_spec(good), "{good}");
        }
        for bad in ["a=b=c", "reaper=loud", "x/y/z", "=nope"] {
            assert!(!is_valid_spec(bad), "{bad}");
        }
    }
}
