//! Records the git commit reaper is built from, for `--version` (in the form `docker info`
//! parses: `reaper version X.Y.Z - git.SHA`). Outside a git checkout, as when built from
//! a crate tarball, `REAPER_GIT_COMMIT` may say it; otherwise it is `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=REAPER_GIT_COMMIT");
    let commit = std::env::var("REAPER_GIT_COMMIT")
        .ok()
        .filter(|c| is_commit(c))
        .or_else(|| {
            // Rebuild when HEAD moves: HEAD itself, and the branch file it names.
            if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
                println!("cargo:rerun-if-changed={git_dir}/HEAD");
                if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
                    println!("cargo:rerun-if-changed={git_dir}/{branch}");
                }
            }
            git(&["rev-parse", "--short=7", "HEAD"]).filter(|c| is_commit(c))
        });
    println!(
        "cargo:rustc-env=REAPER_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
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
