//! Log lines on stderr, each prefixed `reaper:`; and the one-off lines printed before
//! logging is up.
//!
//! Nothing here may panic or report failure: stderr may be closed, a full pipe, or a pipe
//! with no reader, and none of that may change what reaper does or how it exits. (std's
//! `eprintln!` panics on a broken pipe, so it is never used.)

use std::io::Write;

use log::{Level, LevelFilter};

/// Writes one line to stderr, ignoring any error.
pub fn print_line(line: &str) {
    let mut buf = Vec::with_capacity(line.len() + 9);
    buf.extend_from_slice(b"reaper: ");
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let _ = std::io::stderr().write_all(&buf);
}

/// Sets up the logger at `level`, or with the filter in `REAPER_LOG` when it is set.
pub fn init(level: LevelFilter, spec: Option<&str>) {
    let mut builder = env_logger::Builder::new();
    builder
        .target(env_logger::Target::Stderr)
        .write_style(env_logger::WriteStyle::Never)
        .format(|buf, record| {
            let tag = match record.level() {
                Level::Error => "",
                Level::Warn => "warning: ",
                Level::Info => "",
                Level::Debug => "debug: ",
                Level::Trace => "trace: ",
            };
            writeln!(buf, "reaper: {tag}{}", record.args())
        });
    let mut bad_spec = None;
    match spec {
        Some(spec) if is_valid_spec(spec) => {
            builder.parse_filters(spec);
        }
        Some(spec) => {
            bad_spec = Some(spec);
            builder.filter_level(level);
        }
        None => {
            builder.filter_level(level);
        }
    }
    // Fails only if a logger is set already, which cannot happen: this runs once.
    let _ = builder.try_init();
    if let Some(spec) = bad_spec {
        log::warn!(
            "ignoring REAPER_LOG='{}': not an env_logger filter (e.g. 'debug')",
            crate::error::one_line(spec)
        );
    }
}

/// Whether env_logger would take `spec` without complaint. env_logger reports a bad spec
/// with `eprintln!`, which panics on a broken stderr, so reaper checks first and says it
/// itself. The rules are env_logger's: `[module=]level` or `module` items separated by
/// commas, then at most one `/filter`.
fn is_valid_spec(spec: &str) -> bool {
    let mut parts = spec.split('/');
    let directives = parts.next().unwrap_or("");
    if parts.nth(1).is_some() {
        return false;
    }
    directives
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .all(|d| {
            let mut halves = d.split('=');
            match (halves.next(), halves.next(), halves.next()) {
                (Some(_), None, _) => true,
                (Some(_), Some(level), None) => {
                    level.trim().is_empty() || level.trim().parse::<LevelFilter>().is_ok()
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        for good in [
            "debug",
            "",
            "reaper=trace",
            "warn,reaper::shutdown=debug",
            "info/teardown",
            "off",
            "garbage",
        ] {
            assert!(is_valid_spec(good), "{good}");
        }
        for bad in ["a=b=c", "reaper=loud", "x/y/z", "=nope"] {
            assert!(!is_valid_spec(bad), "{bad}");
        }
    }
}
