//! The messages between reaper's benchmark (bench/, its driver) and the application it runs
//! under each init (`testkit bench`): one file in both, the driver taking it with `#[path]`.
//!
//! Fixed 32-byte messages, so that each is one atomic pipe write and one read: a tag (one
//! letter), a count and three numbers (times in ns of CLOCK_MONOTONIC, which the two
//! processes share). Plain std: it compiles in both.

#![allow(dead_code)]

/// The size of one message.
pub const SIZE: usize = 32;

/// One message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Msg {
    pub tag: u8,
    pub n: i32,
    pub a: i64,
    pub b: i64,
    pub c: i64,
}

impl Msg {
    pub fn new(tag: u8, n: i32, a: i64, b: i64, c: i64) -> Msg {
        Msg { tag, n, a, b, c }
    }

    /// The bytes on the wire: no allocation, fit for a signal handler.
    pub fn encode(&self) -> [u8; SIZE] {
        let mut m = [0u8; SIZE];
        m[0..4].copy_from_slice(&i32::from(self.tag).to_ne_bytes());
        m[4..8].copy_from_slice(&self.n.to_ne_bytes());
        m[8..16].copy_from_slice(&self.a.to_ne_bytes());
        m[16..24].copy_from_slice(&self.b.to_ne_bytes());
        m[24..32].copy_from_slice(&self.c.to_ne_bytes());
        m
    }

    pub fn decode(m: &[u8; SIZE]) -> Msg {
        let i32_at = |i: usize| i32::from_ne_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
        let i64_at = |i: usize| i64::from_ne_bytes(std::array::from_fn(|k| m[i + k]));
        Msg {
            tag: u8::try_from(i32_at(0)).unwrap_or(0),
            n: i32_at(4),
            a: i64_at(8),
            b: i64_at(16),
            c: i64_at(24),
        }
    }
}

/// CLOCK_MONOTONIC in ns: the clock both sides stamp messages with.
pub fn now_ns() -> i64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a live timespec; clock_gettime is async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec * 1_000_000_000 + t.tv_nsec
}
