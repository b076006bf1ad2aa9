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
//! log pipe, say), so reaper must not set O_NONBLOCK on it. What it is, one `fstat` says,
//! once, and that decides how a line is written without waiting:
//!
//! - a regular file or a block device: a plain `write`, which does not wait for room
//!   (`RWF_NOWAIT` would not help: on XFS or btrfs it can fail with EAGAIN every time);
//! - a pipe or a socket: `pwritev2` with `RWF_NOWAIT`, EAGAIN instead of waiting. When the
//!   kernel or a seccomp profile refuses that call, a socket gets `send` with
//!   `MSG_DONTWAIT`, and a pipe a plain `write` of at most `PIPE_BUF` bytes after `poll`
//!   says it has room: room is one free page, and a write of `PIPE_BUF` bytes or fewer
//!   fits in one (a longer one would wait for more). The application shares the pipe and
//!   could fill that page between the `poll` and the write; a description of reaper's own
//!   would close that window but take a descriptor the teardown needs more at
//!   RLIMIT_NOFILE 4;
//! - anything else, a terminal above all: a `write` through reaper's own open file
//!   description of it, opened once with O_NONBLOCK (`/proc/self/fd/2`, or `/dev/tty` when
//!   that is the same terminal: reopening a terminal checks the device's permissions,
//!   which may be another user's): `poll`'s POLLOUT on a terminal means only "some room".
//!   It is kept open, close-on-exec, for reaper's life. When neither can be opened (no
//!   /proc, no descriptor free at RLIMIT_NOFILE 4), the line is written if `poll` says
//!   there is room, as inits do: dropping every line would lose the note of the dropped
//!   ones too, and only a line longer than the room left can then wait.
//!
//! A line only partly written (the rest would have waited) is not dropped: the next write
//! starts with the newline it lacks, so the next line never runs on from it. The count of
//! dropped lines (and that newline) is tried once more just before reaper exits.

use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use log::{Level, LevelFilter};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::stat::Mode;

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
/// "would block"): it will again, so do without it for the rest of reaper's life.
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
    if write_dropped_note()
        && CUT.load(Ordering::Relaxed)
        && write_bytes(b"\n", &mut write_some) == Wrote::All
    {
        CUT.store(false, Ordering::Relaxed);
    }
}

/// A line was cut short (the rest would have waited): the next write starts with the
/// newline it lacks.
static CUT: AtomicBool = AtomicBool::new(false);

/// Writes `buf` to stderr, or as much of it as can be written without waiting; whether
/// any of it was (a part is finished with a newline before the next write). A write that
/// fails for any other reason (stderr closed, a broken pipe) counts as done: there is
/// nobody to tell.
fn write_now(buf: &[u8]) -> bool {
    write_line(buf, &CUT, &mut write_some)
}

/// `write_now`, over any `write` that does not wait, and its own `cut` flag.
fn write_line(
    buf: &[u8],
    cut: &AtomicBool,
    write: &mut impl FnMut(&[u8]) -> Result<usize, Errno>,
) -> bool {
    if cut.load(Ordering::Relaxed) {
        if write_bytes(b"\n", write) != Wrote::All {
            return false;
        }
        cut.store(false, Ordering::Relaxed);
    }
    match write_bytes(buf, write) {
        Wrote::All => true,
        Wrote::Part => {
            cut.store(true, Ordering::Relaxed);
            true
        }
        Wrote::Nothing => false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrote {
    All,
    Part,
    Nothing,
}

fn write_bytes(mut buf: &[u8], write: &mut impl FnMut(&[u8]) -> Result<usize, Errno>) -> Wrote {
    let whole = buf.len();
    while !buf.is_empty() {
        match write(buf) {
            Ok(0) | Err(Errno::EAGAIN) if buf.len() == whole => return Wrote::Nothing,
            Ok(0) | Err(Errno::EAGAIN) => return Wrote::Part,
            Ok(n) => buf = &buf[n.min(buf.len())..],
            Err(Errno::EINTR) => {}
            Err(_) => return Wrote::All,
        }
    }
    Wrote::All
}

/// What stderr is, as far as writing without waiting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A regular file or a block device: a write never waits for a reader.
    File,
    Pipe,
    Socket,
    /// A terminal, another character device, or stderr closed.
    Other,
}

impl Kind {
    fn of(mode: libc::mode_t) -> Kind {
        match mode & libc::S_IFMT {
            libc::S_IFREG | libc::S_IFBLK => Kind::File,
            libc::S_IFIFO => Kind::Pipe,
            libc::S_IFSOCK => Kind::Socket,
            _ => Kind::Other,
        }
    }
}

/// stderr's kind, from one `fstat` (0: not yet asked).
static KIND: AtomicU8 = AtomicU8::new(0);

fn stderr_kind() -> Kind {
    const KINDS: [Kind; 4] = [Kind::File, Kind::Pipe, Kind::Socket, Kind::Other];
    match KIND.load(Ordering::Relaxed) {
        k @ 1..=4 => KINDS[usize::from(k - 1)],
        _ => {
            let kind =
                nix::sys::stat::fstat(io::stderr()).map_or(Kind::Other, |st| Kind::of(st.st_mode));
            let k = KINDS.iter().position(|&x| x == kind).unwrap_or(3);
            KIND.store(k as u8 + 1, Ordering::Relaxed);
            kind
        }
    }
}

/// One write of some of `buf` that does not wait: EAGAIN when it would have.
fn write_some(buf: &[u8]) -> Result<usize, Errno> {
    let kind = stderr_kind();
    match kind {
        Kind::File => nix::unistd::write(io::stderr(), buf),
        Kind::Pipe | Kind::Socket if !NO_NOWAIT.load(Ordering::Relaxed) => {
            match write_nowait(buf) {
                // The kernel, or a seccomp profile (which answers EPERM for every call it
                // does not list), refuses the call or the flag, not this one write.
                Err(e) if e != Errno::EAGAIN && e != Errno::EINTR => {
                    NO_NOWAIT.store(true, Ordering::Relaxed);
                    write_without_nowait(kind, buf)
                }
                other => other,
            }
        }
        _ => write_without_nowait(kind, buf),
    }
}

/// The same, where `RWF_NOWAIT` is refused or not honoured (see the module's doc).
fn write_without_nowait(kind: Kind, buf: &[u8]) -> Result<usize, Errno> {
    match kind {
        Kind::File => nix::unistd::write(io::stderr(), buf),
        // Not through a description of reaper's own, as a terminal is: that would take a
        // descriptor, which at RLIMIT_NOFILE 4 the teardown's held /proc needs more.
        Kind::Pipe => write_if_room(&buf[..buf.len().min(libc::PIPE_BUF)]),
        Kind::Socket => send_dontwait(buf),
        // Without a description of its own (a terminal of another user, reaper not in its
        // group), the write that `poll` allows, as before: it can wait only for a line
        // longer than the room the terminal has left, where dropping every line would
        // lose them all, the note of the dropped ones included.
        Kind::Other => match own_description() {
            Some(fd) => nix::unistd::write(fd, buf),
            None => write_if_room(buf),
        },
    }
}

/// One plain write to stderr if `poll` says it has room now, else EAGAIN.
fn write_if_room(buf: &[u8]) -> Result<usize, Errno> {
    let stderr = io::stderr();
    let mut fd = [PollFd::new(stderr.as_fd(), PollFlags::POLLOUT)];
    match nix::poll::poll(&mut fd, PollTimeout::ZERO) {
        Ok(0) | Err(_) => Err(Errno::EAGAIN),
        _ => nix::unistd::write(&stderr, buf),
    }
}

/// reaper's own non-blocking open file description of what stderr is (a terminal), once
/// it could be opened.
static OWN: OnceLock<OwnedFd> = OnceLock::new();

/// Whether opening one failed: it is tried once, not before every line.
static OWN_REFUSED: AtomicBool = AtomicBool::new(false);

fn own_description() -> Option<&'static OwnedFd> {
    if let Some(fd) = OWN.get() {
        return Some(fd);
    }
    if OWN_REFUSED.load(Ordering::Relaxed) {
        return None;
    }
    // O_NOCTTY: a session leader without a terminal must not acquire this one.
    let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    // Reopening a terminal checks the device's own permissions (crw--w---- of another
    // user, say); /dev/tty's are open to all, so it serves when it is the same terminal.
    let fd = nix::fcntl::open("/proc/self/fd/2", flags, Mode::empty())
        .ok()
        .or_else(|| {
            let tty = nix::fcntl::open("/dev/tty", flags, Mode::empty()).ok()?;
            let same = |st: nix::sys::stat::FileStat| (st.st_mode & libc::S_IFMT, st.st_rdev);
            let ours = nix::sys::stat::fstat(&tty).ok().map(same)?;
            let stderr = nix::sys::stat::fstat(io::stderr()).ok().map(same)?;
            (ours == stderr && ours.0 == libc::S_IFCHR).then_some(tty)
        });
    match fd {
        Some(fd) => {
            let _ = OWN.set(fd);
            OWN.get()
        }
        None => {
            OWN_REFUSED.store(true, Ordering::Relaxed);
            None
        }
    }
}

/// The descriptor of reaper's own description of stderr, if it opened one: reaper keeps
/// it when it closes what it inherited.
pub fn own_fd() -> Option<RawFd> {
    OWN.get().map(AsRawFd::as_raw_fd)
}

/// One non-waiting `send` to stderr, a socket.
fn send_dontwait(buf: &[u8]) -> Result<usize, Errno> {
    crate::sys::fd::send_nowait(io::stderr().as_fd(), buf)
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

    /// A regular file or a block device gets a plain write: `RWF_NOWAIT` there may fail
    /// with EAGAIN on every write (XFS, btrfs: the mtime update), which would drop every
    /// line. Pipes and sockets take `RWF_NOWAIT`; a terminal and the rest go through
    /// reaper's own non-blocking description.
    #[test]
    fn how_stderr_is_written_depends_on_what_it_is() {
        assert_eq!(Kind::of(libc::S_IFREG | 0o644), Kind::File);
        assert_eq!(Kind::of(libc::S_IFBLK | 0o660), Kind::File);
        assert_eq!(Kind::of(libc::S_IFIFO | 0o600), Kind::Pipe);
        assert_eq!(Kind::of(libc::S_IFSOCK | 0o777), Kind::Socket);
        assert_eq!(Kind::of(libc::S_IFCHR | 0o620), Kind::Other);
        assert_eq!(Kind::of(libc::S_IFDIR | 0o755), Kind::Other);
    }

    /// A terminal or pipe that takes `room` bytes, then would wait until `read` is called.
    struct Room {
        room: usize,
        got: Vec<u8>,
    }

    impl Room {
        fn write(&mut self, buf: &[u8]) -> Result<usize, Errno> {
            let n = buf.len().min(self.room);
            if n == 0 {
                return Err(Errno::EAGAIN);
            }
            self.room -= n;
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }
    }

    #[test]
    fn a_line_only_partly_written_is_ended_before_the_next() {
        let cut = AtomicBool::new(false);
        let mut t = Room {
            room: 10,
            got: Vec::new(),
        };
        // Half the line goes out: not dropped, but cut.
        assert!(write_line(b"reaper: long line\n", &cut, &mut |b| t.write(b)));
        assert!(cut.load(Ordering::Relaxed));
        // No room even for the newline: the next line is dropped, and still owes it.
        assert!(!write_line(b"reaper: next\n", &cut, &mut |b| t.write(b)));
        t.room = 100;
        assert!(write_line(b"reaper: next\n", &cut, &mut |b| t.write(b)));
        assert!(!cut.load(Ordering::Relaxed));
        assert_eq!(t.got, b"reaper: lo\nreaper: next\n");
        // Whole lines stay whole.
        assert!(write_line(b"reaper: x\n", &cut, &mut |b| t.write(b)));
        assert!(t.got.ends_with(b"\nreaper: x\n"));
    }

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
