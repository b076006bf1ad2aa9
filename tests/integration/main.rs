//! Integration tests: the real reaper binary, as PID 1 and as a subreaper, each in a PID
//! namespace of its own (see harness.rs). Needs root, or unprivileged user namespaces.
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block,
    reason = "the two lints hold reaper's src/ to its sys layer's rules; test code makes raw calls freely"
)]

mod harness;
/// /proc/PID/stat and the raw signal syscalls, shared with testkit.
#[path = "../support/sys.rs"]
mod sys;

mod cli;
mod descriptors;
mod docs;
mod exit_status;
mod expand;
mod explain;
mod hardened;
mod hostile;
mod isolation;
mod manpage;
mod oom;
mod reaping;
mod restart;
mod sandbox;
mod signals;
mod stop_delay;
mod stopped;
mod teardown;
mod terminal;
mod termination_log;
mod user;
mod wait_all;
