//! Every raw system call reaper makes, each behind a safe function, and the code that runs
//! in the child between clone and exec: the one place `unsafe` is allowed.
//!
//! The rules this layer keeps, so that the rest of reaper is safe Rust:
//!
//! - One unsafe operation per block, each with its `// SAFETY:` comment (clippy's
//!   `undocumented_unsafe_blocks` and `multiple_unsafe_ops_per_block`, denied in
//!   Cargo.toml), turned at once into a `Result` where the call can fail.
//! - I/O safety: a descriptor a function closes is given to it owned (`OwnedFd`), or the
//!   function is an `unsafe fn` whose `# Safety` says who must not own it.
//! - nix wherever it wraps a call without allocating (getpid, setpgid, tcsetpgrp, chdir,
//!   open, read, poll, waitid); a call stays raw only where nix has no wrapper that does
//!   the job, and the function says why in one line.
//!
//! - `entry`: the C entry point and its argv (`no_main`).
//! - `signal`: masks, waits, dispositions and sending, on the kernel's 64-bit set.
//! - `wait`: collecting exited children.
//! - `fd`: closing what reaper inherited, and the log's non-waiting write.
//! - `landlock`: the ruleset the child confines itself with.
//! - `child`: reaper's own ids, the environment, and the child from clone to exec.

pub mod child;
pub mod entry;
pub mod fd;
pub mod landlock;
pub mod signal;
pub mod wait;

/// Runs `check` in a child process of its own (signal state is process-wide and the test
/// runner is multi-threaded) and asserts that it returned true.
#[cfg(test)]
pub fn in_child_process(check: fn() -> bool) {
    // SAFETY: the child makes raw syscalls only and ends with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = check();
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}"
    );
}
