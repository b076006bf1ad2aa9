//! The C library's text for an errno, as shells print it ("No such file or directory"),
//! without the " (os error 2)" that std adds.

use std::fmt;

use nix::errno::Errno;

/// An errno that displays as its strerror text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OsError(pub Errno);

impl OsError {
    pub fn last() -> Self {
        OsError(Errno::last())
    }
}

impl From<Errno> for OsError {
    fn from(e: Errno) -> Self {
        OsError(e)
    }
}

impl From<std::io::Error> for OsError {
    fn from(e: std::io::Error) -> Self {
        OsError(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
    }
}

impl fmt::Display for OsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 128];
        // SAFETY: the buffer is writable for its whole length; the XSI strerror_r (which
        // both glibc, through the libc crate, and musl provide) NUL-terminates within it.
        let r = unsafe { libc::strerror_r(self.0 as i32, buf.as_mut_ptr().cast(), buf.len()) };
        let len = buf.iter().position(|&b| b == 0).unwrap_or(0);
        match std::str::from_utf8(&buf[..len]) {
            Ok(text) if r == 0 && !text.is_empty() => f.write_str(text),
            _ => write!(f, "error {}", self.0 as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_text() {
        assert_eq!(
            OsError(Errno::ENOENT).to_string(),
            "No such file or directory"
        );
        assert_eq!(OsError(Errno::EACCES).to_string(), "Permission denied");
        assert_eq!(
            OsError(Errno::EAGAIN).to_string(),
            "Resource temporarily unavailable"
        );
        let io = std::io::Error::from_raw_os_error(libc::EPERM);
        assert_eq!(OsError::from(io).to_string(), "Operation not permitted");
    }
}
