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

/// The lines, and what the start would have failed with (a command that cannot be found
/// or run: its status is `--explain`'s); `Err` for bad input, as the start would give it.
pub fn explain(config: &Config) -> Result<(String, Result<(), Error>), Error> {
    let mut out = String::new();
    // `key` is `KEY: `, or a whole line.
    let mut line = |key: &str, value: &str| {
        out.push_str(key);
        out.push_str(value);
        out.push('\n');
    };
    let mut outcome = Ok(());
    match &config.mode {
        Mode::Command(argv) => {
            let user = config
                .user
                .as_deref()
                .map(crate::user::lookup)
                .transpose()?;
            let words = crate::spawn::words(argv, config.expand_env, user.as_ref())?;
            line("command: ", &quoted(&words));
            let program = words.first().cloned().unwrap_or_default();
            match crate::spawn::find(&program) {
                Ok(path) => line("program: ", &shown(path.as_bytes())),
                Err(errno) => {
                    let e = Error::cannot_run(shown(program.as_bytes()), errno);
                    line("program: ", &format!("none: {e}"));
                    outcome = Err(e);
                }
            }
            let (uid, gid, groups) = match &user {
                Some(u) => (u.uid, u.gid, u.groups.clone()),
                None => {
                    let me = crate::sys::child::current_ids()?;
                    (me.uids[1], me.gids[1], me.groups)
                }
            };
            line("uid: ", &uid.to_string());
            line("gid: ", &gid.to_string());
            let groups: Vec<String> = groups.iter().map(u32::to_string).collect();
            let groups = if groups.is_empty() {
                "none".to_string()
            } else {
                groups.join(" ")
            };
            line("groups: ", &groups);
            let directory = match &config.workdir {
                Some(dir) => shown(dir.as_bytes()),
                None => std::env::current_dir()
                    .map(|d| shown(d.as_os_str().as_bytes()))
                    .unwrap_or_else(|e| format!("unknown ({})", Error::from(e))),
            };
            line("directory: ", &directory);
            let to = if config.single_child {
                "the command only"
            } else {
                "the command's process group"
            };
            let after = if config.wait_all {
                "; once it has exited, every process left"
            } else {
                ""
            };
            line("signals: ", &format!("{to}{after}"));
        }
        Mode::Pause => line("command: ", "none (--pause: reap until SIGTERM or SIGINT)"),
    }
    let init = match nix::unistd::getpid().as_raw() {
        1 => "PID 1".to_string(),
        pid => format!("subreaper (pid {pid})"),
    };
    line("init: ", &init);
    let level = config.log_level.0.as_str().to_ascii_lowercase();
    line("log-level: ", &level);
    if let Some(spec) = &config.log_spec {
        line("log-filter: ", &crate::error::one_line(spec));
    }
    for option in crate::cli::explained(config) {
        line(&option, "");
    }
    for warning in &config.warnings {
        line("warning: ", warning);
    }
    Ok((out, outcome))
}

/// Words as a shell would need them quoted to give them back: bare when they are plain,
/// else in single quotes (`'` as `'\''`); control bytes and bytes that are not UTF-8 as
/// `\xNN` (see `error::shown`).
fn quoted(words: &[OsString]) -> String {
    let plain = |c: u8| c.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&c);
    let words: Vec<String> = words
        .iter()
        .map(|w| {
            let w = w.as_bytes();
            if !w.is_empty() && w.iter().all(|&c| plain(c)) {
                shown(w)
            } else {
                format!("'{}'", shown(w).replace('\'', r"'\''"))
            }
        })
        .collect();
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_as_a_shell_reads_them() {
        let w = |words: &[&str]| quoted(&words.iter().map(OsString::from).collect::<Vec<_>>());
        assert_eq!(w(&["sleep", "10"]), "sleep 10");
        assert_eq!(w(&["/app/run", "--port=8080"]), "/app/run --port=8080");
        assert_eq!(w(&["sh", "-c", "echo hi"]), "sh -c 'echo hi'");
        assert_eq!(w(&["x", ""]), "x ''");
        assert_eq!(w(&["it's"]), r"'it'\''s'");
        assert_eq!(w(&["a\nb"]), r"'a\nb'");
    }
}
