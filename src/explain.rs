//! `--explain`: what reaper would do with this command line and environment, one
//! `key: value` a line on stdout, and nothing started.
//!
//! First what reaper works out at start (the command after `--expand-env`, the file a PATH
//! search finds, the ids, groups and directory, where signals go, PID 1 or subreaper, the
//! log level), then every option's value and origin (`cli::explained`, written from the
//! option table, so that a new option is shown without code here), then the warnings
//! reaper would log. It reads what the start reads (the account files, PATH) and changes
//! nothing: no subreaper, no signal handling, no child.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use crate::cli::{Config, Mode};
use crate::error::{Error, shown};
use crate::user::Identity;

/// The lines, and what the start would have failed with (a command that cannot be found
/// or run: its status is `--explain`'s); `Err` for bad input, as the start would give it.
/// Never inlined: a path taken once, if ever, kept out of `run`'s code (it saves the
/// release binary about 600 bytes).
#[inline(never)]
pub fn explain(config: &Config) -> Result<(String, Result<(), Error>), Error> {
    let mut out = String::new();
    let mut left_out = Vec::new();
    let outcome = match &config.mode {
        Mode::Command(argv) => push_command(&mut out, config, argv, &mut left_out)?,
        Mode::Pause => {
            out.push_str("command: none (--pause: reap until SIGTERM or SIGINT)\n");
            Ok(())
        }
    };
    push_init(&mut out, config);
    out.push_str(&crate::cli::explained(config));
    for warning in &config.warnings {
        out.push_str("warning: ");
        out.push_str(warning);
        out.push('\n');
    }
    for why in &left_out {
        out.push_str("warning: ");
        out.push_str(why);
        out.push_str("; left out (--sandbox-best-effort)\n");
    }
    Ok((out, outcome))
}

/// The lines about the command: its words, the program, the ids, the directory, where
/// signals go and the Landlock ABI; with what the start would fail with (`explain`'s
/// `outcome`). The Landlock options are checked as the start checks them (`Err`), and
/// what `--sandbox-best-effort` would leave out is added to `left_out`.
fn push_command(
    out: &mut String,
    config: &Config,
    argv: &[OsString],
    left_out: &mut Vec<String>,
) -> Result<Result<(), Error>, Error> {
    let (user, words) = crate::spawn::prepare(argv, config.user.as_deref(), config.expand_env)?;
    // What the start would build, and stop on, before it runs anything.
    let workdir = config.workdir.as_deref();
    let landlock = if config.confine.any() {
        let program = words.first().map(|w| w.as_bytes());
        let (abi, left) = crate::sandbox::explain(&config.confine, program, workdir)?;
        *left_out = left;
        Some(abi)
    } else {
        None
    };
    out.push_str("command:");
    for word in &words {
        out.push(' ');
        push_quoted(out, word.as_bytes());
    }
    out.push_str("\nprogram: ");
    let program = words.first().cloned().unwrap_or_default();
    let outcome = match crate::spawn::find(&program, workdir) {
        Ok(path) => {
            out.push_str(&shown(path.as_bytes()));
            Ok(())
        }
        Err(errno) => {
            let e = Error::cannot_run(shown(program.as_bytes()), errno);
            out.push_str("none: ");
            out.push_str(&e.to_string());
            Err(e)
        }
    };
    push_ids(out, user)?;
    push_directory(out, config);
    out.push_str(if config.single_child {
        "\nsignals: the command only"
    } else {
        "\nsignals: the command's process group"
    });
    if config.wait_all {
        out.push_str("; once it has exited, every process left");
    }
    out.push('\n');
    if let Some(abi) = &landlock {
        out.push_str("landlock: ");
        out.push_str(abi);
        out.push('\n');
    }
    Ok(outcome)
}

/// The `uid:`, `gid:` and `groups:` lines: `--user`'s, or reaper's own.
fn push_ids(out: &mut String, user: Option<Identity>) -> Result<(), Error> {
    let (uid, gid, groups) = match user {
        Some(u) => (u.uid, u.gid, u.groups),
        None => {
            let me = crate::sys::child::current_ids()?;
            (me.uids[1], me.gids[1], me.groups)
        }
    };
    out.push_str("\nuid: ");
    out.push_str(&uid.to_string());
    out.push_str("\ngid: ");
    out.push_str(&gid.to_string());
    out.push_str("\ngroups:");
    if groups.is_empty() {
        out.push_str(" none");
    }
    for group in groups {
        out.push(' ');
        out.push_str(&group.to_string());
    }
    Ok(())
}

/// The `directory:` line: `--workdir`, or reaper's own.
fn push_directory(out: &mut String, config: &Config) {
    out.push_str("\ndirectory: ");
    let directory = match &config.workdir {
        Some(dir) => Ok(dir.clone()),
        None => std::env::current_dir().map(std::path::PathBuf::into_os_string),
    };
    match directory {
        Ok(dir) => out.push_str(&shown(dir.as_bytes())),
        Err(e) => out.push_str(&Error::from(e).to_string()),
    }
}

/// The `init:`, `log-level:` and `log-filter:` lines.
fn push_init(out: &mut String, config: &Config) {
    out.push_str("init: ");
    match nix::unistd::getpid().as_raw() {
        1 => out.push_str("PID 1"),
        pid => {
            out.push_str("subreaper (pid ");
            out.push_str(&pid.to_string());
            out.push(')');
        }
    }
    out.push_str("\nlog-level: ");
    out.push_str(&config.log_level.0.as_str().to_ascii_lowercase());
    out.push('\n');
    if let Some(spec) = &config.log_spec {
        out.push_str("log-filter: ");
        out.push_str(&crate::error::one_line(spec));
        out.push('\n');
    }
}

/// `word` as a shell would need it quoted to give it back: bare when it is plain, else in
/// single quotes (`'` as `'\''`); control bytes and bytes that are not UTF-8 as `\xNN`
/// (see `error::shown`).
fn push_quoted(out: &mut String, word: &[u8]) {
    let plain = |c: &u8| c.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(c);
    if !word.is_empty() && word.iter().all(plain) {
        out.push_str(&shown(word));
        return;
    }
    out.push('\'');
    for c in shown(word).chars() {
        match c {
            '\'' => out.push_str("'\\''"),
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_as_a_shell_reads_them() {
        let w = |words: &[&str]| {
            let mut out = String::new();
            for word in words {
                if !out.is_empty() {
                    out.push(' ');
                }
                push_quoted(&mut out, word.as_bytes());
            }
            out
        };
        assert_eq!(w(&["sleep", "10"]), "sleep 10");
        assert_eq!(w(&["/app/run", "--port=8080"]), "/app/run --port=8080");
        assert_eq!(w(&["sh", "-c", "echo hi"]), "sh -c 'echo hi'");
        assert_eq!(w(&["x", ""]), "x ''");
        assert_eq!(w(&["it's"]), r"'it'\''s'");
        assert_eq!(w(&["a\nb"]), r"'a\nb'");
    }
}
