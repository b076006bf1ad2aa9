//! Records the git commit reaper is built from, for `--version` (in the form `docker info`
//! parses: `reaper version X.Y.Z - git.SHA`). In order: `REAPER_GIT_COMMIT`; the commit
//! cargo recorded in `.cargo_vcs_info.json` when it packaged the crate (a crate tarball,
//! `cargo install` from a registry, a vendored copy); the git checkout the crate is the top
//! of; otherwise `unknown`.
//!
//! It also makes release binaries linked by rust-lld (every musl target in
//! .cargo/config.toml) smaller: see `drop_unwind_tables`.

use std::path::Path;
use std::process::Command;

fn main() {
    drop_unwind_tables();
    println!("cargo:rerun-if-env-changed=REAPER_GIT_COMMIT");
    let from_env = std::env::var("REAPER_GIT_COMMIT").ok();
    if let Some(c) = from_env.as_deref().filter(|c| !is_commit(c)) {
        println!("cargo:warning=ignoring REAPER_GIT_COMMIT={c:?}: letters, digits and '-' only");
    }
    let commit = from_env
        .filter(|c| is_commit(c))
        .or_else(packaged_commit)
        .or_else(checkout_commit);
    println!(
        "cargo:rustc-env=REAPER_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}

/// `cargo package` writes `{"git": {"sha1": "<40 hex>", ...}, ...}` beside Cargo.toml.
fn packaged_commit() -> Option<String> {
    let info = std::fs::read_to_string(".cargo_vcs_info.json").ok()?;
    println!("cargo:rerun-if-changed=.cargo_vcs_info.json");
    let rest = &info[info.find("\"sha1\"")? + "\"sha1\"".len()..];
    let sha: String = rest
        .trim_start_matches([' ', ':', '"', '\n', '\t'])
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .take(7)
        .collect();
    (sha.len() == 7).then_some(sha)
}

/// HEAD of the git checkout whose top is this crate, and only that one: a copy of the
/// crate inside another repository (vendored, unpacked in a monorepo) is not its commit.
fn checkout_commit() -> Option<String> {
    let top = git(&["rev-parse", "--show-toplevel"])?;
    let here = std::env::var_os("CARGO_MANIFEST_DIR")?;
    if Path::new(&top).canonicalize().ok()? != Path::new(&here).canonicalize().ok()? {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself, and the branch file it names.
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={git_dir}/{branch}");
        }
    }
    git(&["rev-parse", "--short=7", "HEAD"]).filter(|c| is_commit(c))
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Docker splits the commit on '.', so it must hold none (nor spaces).
fn is_commit(c: &str) -> bool {
    !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Release binaries are built with `panic = "abort"`: nothing ever unwinds, and a stripped
/// binary's backtrace has no names to print. Yet std's unwind tables (`.eh_frame`, its
/// header and `.gcc_except_table`) stay in the file, about 52 KB of the amd64 binary, a
/// tenth of it. A linker script inserted after `.text` discards them. What it costs: a
/// panic still prints its message and aborts, but `RUST_BACKTRACE=1` then prints an empty
/// "stack backtrace:" (the unwinder finds no frame table and stops at once).
///
/// Only for the release profile and only when cargo links with rust-lld, whose handling
/// of an `INSERT` script with `/DISCARD/` is the one we build and test with; a build with
/// another linker (`cargo install` on a glibc target) keeps its tables.
fn drop_unwind_tables() {
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let lld = std::env::var("RUSTC_LINKER").is_ok_and(|l| l.ends_with("rust-lld"));
    let Some(out) = std::env::var_os("OUT_DIR") else {
        return;
    };
    if !(release && lld) {
        return;
    }
    let script = Path::new(&out).join("no-unwind-tables.ld");
    let text = "SECTIONS {\n  /DISCARD/ : { *(.eh_frame) *(.eh_frame_hdr) *(.gcc_except_table*) }\n}\nINSERT AFTER .text;\n";
    if let Err(e) = std::fs::write(&script, text) {
        println!("cargo:warning=keeping the unwind tables: cannot write {script:?}: {e}");
        return;
    }
    println!("cargo:rustc-link-arg-bins=-T{}", script.display());
    // A static-pie binary relocates itself at start: one 24-byte `R_*_RELATIVE` entry per
    // pointer in its data (the option table's, std's vtables), about 16 KB of the amd64
    // binary. RELR (`DT_RELR`) packs them into a bitmap of a few hundred bytes; the musl
    // that rustup's targets carry (1.2.5) applies it in its start code, on every
    // architecture (release/build runs every binary it builds).
    println!("cargo:rustc-link-arg-bins=-zpack-relative-relocs");
}
