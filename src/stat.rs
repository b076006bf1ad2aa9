//! The one parser of `/proc/PID/stat` (proc_pid_stat(5)): reaper's (`procs`) and the
//! tests' (`tests/support/sys.rs`, which takes this file with `#[path]`). Plain std, no
//! crate of ours: it compiles in both. Allocates nothing.
//!
//! The command name (field 2) may hold spaces and parentheses of its own, so the fields
//! are counted from the last ')'.

/// The fields of one stat line after the command name.
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a>(&'a str);

impl<'a> Fields<'a> {
    /// The fields of `stat`, the contents of a stat file; `None` when it has no command
    /// name or is not text.
    pub fn of(stat: &'a [u8]) -> Option<Fields<'a>> {
        let close = stat.iter().rposition(|&c| c == b')')?;
        std::str::from_utf8(stat.get(close + 1..)?).ok().map(Fields)
    }

    /// Field `n` as proc_pid_stat(5) numbers them: 3 is the state, 4 the parent, 5 the
    /// process group, 22 the start time. `None` for 1 and 2, and past the end.
    pub fn field(&self, n: usize) -> Option<&'a str> {
        self.0.split_ascii_whitespace().nth(n.checked_sub(3)?)
    }

    /// Field `n`, parsed as a number (or any `FromStr`).
    pub fn parse<T: std::str::FromStr>(&self, n: usize) -> Option<T> {
        self.field(n)?.parse().ok()
    }

    /// The state (field 3): `R`, `S`, `T`, `Z`, ...
    pub fn state(&self) -> Option<u8> {
        self.field(3)?.bytes().next()
    }
}
