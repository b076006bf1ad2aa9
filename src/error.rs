//! reaper's one error type: a message and the exit status it maps to (from `status`).
//!
//! Before the child runs, an `Error` ends reaper: `main` prints the message once and exits
//! with the status. After, there is no bailing out (the application must be reaped and
//! its status passed on): an error is logged and reaper keeps going.

use std::fmt;

use nix::errno::Errno;

use crate::status;

/// Something that went wrong, with the exit status it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    status: u8,
    message: String,
}

impl Error {
    /// A bad command line or environment variable: exit 2, with a hint to `--help`.
    pub fn usage(what: impl fmt::Display) -> Error {
        Error {
            status: status::USAGE,
            message: one_line(&format!("{what} (see 'reaper --help')")),
        }
    }

    /// Bad input that `--help` would not help with (a variable the command requires is
    /// unset): exit 2, the message alone, on one line.
    pub fn input(what: impl fmt::Display) -> Error {
        Error {
            status: status::USAGE,
            message: one_line(&what.to_string()),
        }
    }

    /// A step of reaper's own set-up failed: exit 1.
    pub fn failed(step: impl fmt::Display, errno: Errno) -> Error {
        Error {
            status: status::FAILED,
            message: format!("failed to {step}: {}", describe(errno)),
        }
    }

    /// The command could not be executed: 127 when it was not found, 126 otherwise
    /// (`status::of_exec_error`).
    pub fn cannot_run(program: impl fmt::Display, errno: Errno) -> Error {
        Error {
            status: status::of_exec_error(errno),
            message: one_line(&format!("cannot run '{program}': {}", describe(errno))),
        }
    }

    /// Anything else reaper cannot do, said in its own words: exit 1.
    pub fn other(message: impl Into<String>) -> Error {
        Error {
            status: status::FAILED,
            message: message.into(),
        }
    }

    /// The exit status this error maps to.
    pub fn status(&self) -> u8 {
        self.status
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::other(describe(Errno::from_raw(
            e.raw_os_error().unwrap_or(libc::EIO),
        )))
    }
}

/// `text` with every control character escaped (`\n`, `\t`, `\x1b`, ...), so that a
/// message that echoes a user's word is one line and cannot pass for a log line of its own.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Every control character is below U+00A0, so one byte.
            c if c.is_control() => push_escaped(&mut out, u32::from(c) as u8),
            c => out.push(c),
        }
    }
    out
}

/// `\xNN`, written by hand: `format!` costs the binary more than this whole function.
fn push_escaped(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\x");
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xf)]));
}

/// `bytes` as text for a message, on one line: what is not UTF-8 is shown as `\xNN`, so
/// that a word that reached reaper byte for byte is echoed as it was, not as U+FFFD.
pub fn shown(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for &b in chunk.invalid() {
            push_escaped(&mut text, b);
        }
    }
    one_line(&text)
}

/// The C library's text for an errno, as shells print it ("No such file or directory").
/// std's text is the C library's too, with " (os error N)" after it; nix's own table
/// words some differently ("Try again" for EAGAIN).
pub fn describe(errno: Errno) -> String {
    let mut text = std::io::Error::from_raw_os_error(errno as i32).to_string();
    let without = text
        .strip_suffix(')')
        .map(|t| t.trim_end_matches(|c: char| c.is_ascii_digit()))
        .and_then(|t| t.strip_suffix(" (os error "))
        .map(str::len);
    if let Some(len) = without {
        text.truncate(len);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_is_the_c_librarys() {
        assert_eq!(describe(Errno::ENOENT), "No such file or directory");
        assert_eq!(describe(Errno::EACCES), "Permission denied");
        assert_eq!(describe(Errno::EAGAIN), "Resource temporarily unavailable");
        let io = std::io::Error::from_raw_os_error(libc::EPERM);
        assert_eq!(Error::from(io).to_string(), "Operation not permitted");
    }

    #[test]
    fn words_are_echoed_on_one_line() {
        let e = Error::usage("invalid duration '5\nreaper: exiting with status 0'");
        assert_eq!(
            e.to_string(),
            "invalid duration '5\\nreaper: exiting with status 0' (see 'reaper --help')"
        );
        assert_eq!(one_line("a\tb\r\x1b[2J\u{85}é"), "a\\tb\\r\\x1b[2J\\x85é");
        assert_eq!(shown(b"/data/\xff\n\xc3\xa9\xc3"), "/data/\\xff\\né\\xc3");
        let e = Error::cannot_run("x\ny", Errno::ENOENT);
        assert_eq!(
            e.to_string(),
            "cannot run 'x\\ny': No such file or directory"
        );
    }

    #[test]
    fn each_kind_carries_its_status_and_message() {
        let e = Error::usage("no command given");
        assert_eq!(e.to_string(), "no command given (see 'reaper --help')");
        assert_eq!(e.status(), 2);
        let e = Error::failed("fork", Errno::EAGAIN);
        assert_eq!(
            e.to_string(),
            "failed to fork: Resource temporarily unavailable"
        );
        assert_eq!(e.status(), 1);
        let e = Error::cannot_run("foo", Errno::ENOENT);
        assert_eq!(e.to_string(), "cannot run 'foo': No such file or directory");
        assert_eq!(e.status(), 127);
        assert_eq!(Error::cannot_run("x", Errno::EACCES).status(), 126);
        assert_eq!(Error::cannot_run("x", Errno::ENOEXEC).status(), 126);
        assert_eq!(Error::cannot_run("x", Errno::ENOTDIR).status(), 126);
    }
}
