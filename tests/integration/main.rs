//! Integration tests: the real reaper binary, as PID 1 and as a subreaper, each in a PID
//! namespace of its own (see harness.rs). Needs root, or unprivileged user namespaces.

mod harness;
/// /proc/PID/stat and the raw signal syscalls, shared with testkit.
#[path = "../support/sys.rs"]
mod sys;

mod cli;
mod descriptors;
mod docs;
mod exit_status;
mod hardened;
mod hostile;
mod isolation;
mod manpage;
mod reaping;
mod signals;
mod stopped;
mod teardown;
mod terminal;
mod user;
mod wait_all;
