//! `--expand-env`: `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$` in the command's
//! words, from the environment the application gets. Not a shell: each word stays one
//! word (no splitting, no globbing, no commands, no quotes), and bytes that are not UTF-8
//! pass through untouched.
//!
//! Pure (the environment comes through a lookup), so every rule is a row of the unit
//! tests' table. The rules, as a Dockerfile's exec form or a Kubernetes `args:` list needs
//! them, and as tino and the shells spell them:
//!
//! - `${VAR}`: VAR's value; an unset variable is empty (the word stays, empty).
//! - `${VAR:-default}`: the default when VAR is unset or empty; the default may itself
//!   hold `${...}` and `$$` (expanded only when it is used).
//! - `${VAR:?message}`: VAR is required: unset or empty, it is an error (status 2) that
//!   shows the message, as `sh` does; without a message, a standard one.
//! - `$$` is one `$`: `$${VAR}` is the text `${VAR}`.
//! - `$VAR` unbraced, and a `$` before anything else, stay as they are: a word like
//!   `pa$$word` or `$1` is rarely meant for reaper.
//! - Anything else that starts with `${` is an error, not text: an unterminated `${`, an
//!   empty or malformed name (`${}`, `${1x}`), and the shell's other forms (`${VAR-x}`,
//!   `${VAR:=x}`, `${VAR:+x}`, `${#VAR}`), so that a typo never reaches the application as
//!   a silently mangled word. A `}` cannot appear in a default or a message.
//!
//! A name is a letter or `_`, then letters, digits and `_` (POSIX's).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::error::{Error, shown};

/// How a variable is looked up: its value, or `None` when unset.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// Every word of `argv` expanded; the first error ends it.
pub fn command(argv: &[OsString], env: Lookup) -> Result<Vec<OsString>, Error> {
    let mut words = Vec::with_capacity(argv.len());
    for word in argv {
        let expanded = word_of(word.as_bytes(), env).map_err(|p| p.error(word.as_bytes()))?;
        words.push(OsString::from_vec(expanded));
    }
    Ok(words)
}

/// Why a word could not be expanded.
#[derive(Debug, PartialEq)]
pub enum Problem {
    /// `${` with no `}` to end it.
    Unterminated,
    /// `${` not followed by a name: `${}`, `${1x}`, `${ X}`.
    BadName,
    /// `${NAME` followed by something else than `}`, `:-` or `:?`.
    Unsupported(String),
    /// `${NAME:?message}` with NAME unset or empty.
    Required(String, Vec<u8>),
}

impl Problem {
    /// The error for `word`: a usage error (status 2), or, for a required variable, the
    /// message the image's author wrote, on one line, with status 2 as well.
    fn error(self, word: &[u8]) -> Error {
        let (what, form) = match self {
            Problem::Required(name, message) if message.is_empty() => {
                return Error::input(name + ": required by the command, but unset or empty");
            }
            Problem::Required(name, message) => {
                return Error::input(name + ": " + &shown(&message));
            }
            Problem::Unterminated => ("unterminated", "${".to_string()),
            Problem::BadName => ("no variable name after", "${".to_string()),
            Problem::Unsupported(form) => ("unsupported form", form),
        };
        Error::usage(format!(
            "--expand-env: {what} '{form}' in '{}' (reaper expands ${{VAR}}, ${{VAR:-default}}, ${{VAR:?message}} and $$)",
            shown(word)
        ))
    }
}

/// `word` expanded.
pub fn word_of(word: &[u8], env: Lookup) -> Result<Vec<u8>, Problem> {
    let mut out = Vec::with_capacity(word.len());
    let rest = expand_into(&mut out, word, env, true, false)?;
    debug_assert!(rest.is_empty());
    Ok(out)
}

/// Expands `text` into `out` up to its end or, `inside` a `${...}`, up to the `}` that
/// ends it; returns what follows that `}` (which is left in it). `live`: false while
/// reading a default or a message that is not used, which is checked but not looked up.
fn expand_into<'t>(
    out: &mut Vec<u8>,
    mut text: &'t [u8],
    env: Lookup,
    live: bool,
    inside: bool,
) -> Result<&'t [u8], Problem> {
    loop {
        match text {
            [] if inside => return Err(Problem::Unterminated),
            [] => return Ok(text),
            [b'}', ..] if inside => return Ok(text),
            [b'$', b'$', rest @ ..] => {
                out.push(b'$');
                text = rest;
            }
            [b'$', b'{', rest @ ..] => text = braced(out, rest, env, live)?,
            [c, rest @ ..] => {
                out.push(*c);
                text = rest;
            }
        }
    }
}

/// One `${...}`, `text` being what follows its `${`; returns what follows its `}`.
fn braced<'t>(
    out: &mut Vec<u8>,
    text: &'t [u8],
    env: Lookup,
    live: bool,
) -> Result<&'t [u8], Problem> {
    let len = name_len(text);
    if len == 0 {
        return Err(if text.is_empty() {
            Problem::Unterminated
        } else {
            Problem::BadName
        });
    }
    // ASCII by `name_len`'s rule, so this is never the empty fallback.
    let name = std::str::from_utf8(&text[..len]).unwrap_or_default();
    let value = || {
        live.then(|| env(name))
            .flatten()
            .map(OsString::into_vec)
            .filter(|v| !v.is_empty())
    };
    match &text[len..] {
        [] => Err(Problem::Unterminated),
        [b'}', rest @ ..] => {
            out.extend(value().unwrap_or_default());
            Ok(rest)
        }
        [b':', op @ (b'-' | b'?'), rest @ ..] => {
            let set = value();
            let mut word = Vec::new();
            let rest = expand_into(&mut word, rest, env, live && set.is_none(), true)?;
            match (set, op) {
                (Some(v), _) => out.extend(v),
                (None, b'-') => out.extend(word),
                (None, _) if live => return Err(Problem::Required(name.to_string(), word)),
                (None, _) => {}
            }
            // `expand_into` stops only at the `}`.
            Ok(rest.get(1..).unwrap_or_default())
        }
        [c, ..] => {
            let shown_c = shown(&[*c]);
            Err(Problem::Unsupported(format!("${{{name}{shown_c}")))
        }
    }
}

/// The length of the variable name `text` starts with (0: none).
fn name_len(text: &[u8]) -> usize {
    match text.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => text
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .unwrap_or(text.len()),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<OsString> {
        let value: &[u8] = match name {
            "PORT" => b"8080",
            "EMPTY" => b"",
            "HOST" => b"db.local",
            "SPACE" => b"a b  *",
            "RAW" => b"\xff\xfe",
            "DOLLAR" => b"${PORT}",
            _ => return None,
        };
        Some(OsString::from_vec(value.to_vec()))
    }

    fn x(word: &[u8]) -> Result<Vec<u8>, Problem> {
        word_of(word, &env)
    }

    /// Words that expand, and what they expand to with `env`.
    const EXPANSIONS: &[(&[u8], &[u8])] = &[
        (b"plain", b"plain"),
        (b"", b""),
        (b"${PORT}", b"8080"),
        (b"--port=${PORT}", b"--port=8080"),
        (b"${HOST}:${PORT}", b"db.local:8080"),
        (b"${UNSET}", b""),
        (b"a${UNSET}b", b"ab"),
        (b"${EMPTY}", b""),
        (b"${UNSET:-9000}", b"9000"),
        (b"${EMPTY:-9000}", b"9000"),
        (b"${PORT:-9000}", b"8080"),
        (b"${UNSET:-}", b""),
        (b"${UNSET:-a b:c-d?e}", b"a b:c-d?e"),
        (b"${UNSET:-${PORT}}", b"8080"),
        (b"${UNSET:-${ALSO:-x}y}", b"xy"),
        (b"${UNSET:-$$}", b"$"),
        (b"${PORT:?need a port}", b"8080"),
        // A default that is not used is not looked into: its `:?` does not fire.
        (b"${PORT:-${UNSET:?never}}", b"8080"),
        (b"${PORT:?${UNSET:?never}}", b"8080"),
        (b"$$", b"$"),
        (b"$$$$", b"$$"),
        (b"$${PORT}", b"${PORT}"),
        (b"pa$$word", b"pa$word"),
        (b"$PORT", b"$PORT"),
        (b"$", b"$"),
        (b"a$", b"a$"),
        (b"$1", b"$1"),
        (b"$ {PORT}", b"$ {PORT}"),
        (b"}", b"}"),
        (b"{PORT}", b"{PORT}"),
        // Not a shell: no splitting, no globbing, no quotes.
        (b"${SPACE}", b"a b  *"),
        (b"'${PORT}'", b"'8080'"),
        (b"\"${PORT}\"", b"\"8080\""),
        (b"$(id)`id`", b"$(id)`id`"),
        // A value is not expanded again.
        (b"${DOLLAR}", b"${PORT}"),
        // Bytes that are not UTF-8, in the word and in the value.
        (b"\xff${PORT}\xfe", b"\xff8080\xfe"),
        (b"${RAW}", b"\xff\xfe"),
        (b"${UNSET:-\xff}", b"\xff"),
        (b"${_x1}", b""),
    ];

    #[test]
    fn expansion_table() {
        for (word, want) in EXPANSIONS {
            assert_eq!(x(word).as_deref(), Ok(*want), "{}", shown(word));
        }
        let bad: &[(&[u8], Problem)] = &[
            (b"${", Problem::Unterminated),
            (b"${PORT", Problem::Unterminated),
            (b"x${PORT:-8080", Problem::Unterminated),
            (b"${UNSET:-${PORT}", Problem::Unterminated),
            (b"${}", Problem::BadName),
            (b"${1x}", Problem::BadName),
            (b"${ PORT}", Problem::BadName),
            (b"${#PORT}", Problem::BadName),
            (b"${\xff}", Problem::BadName),
            (b"${PORT-x}", Problem::Unsupported("${PORT-".into())),
            (b"${PORT:=x}", Problem::Unsupported("${PORT:".into())),
            (b"${PORT:+x}", Problem::Unsupported("${PORT:".into())),
            (b"${PORT x}", Problem::Unsupported("${PORT ".into())),
            (b"${PO.RT}", Problem::Unsupported("${PO.".into())),
            (b"${PORT\xff}", Problem::Unsupported("${PORT\\xff".into())),
            (
                b"${UNSET:?set UNSET}",
                Problem::Required("UNSET".into(), b"set UNSET".to_vec()),
            ),
            (b"${EMPTY:?}", Problem::Required("EMPTY".into(), Vec::new())),
            (
                b"${UNSET:?port ${PORT}}",
                Problem::Required("UNSET".into(), b"port 8080".to_vec()),
            ),
            // Malformed even where it would not be used.
            (b"${PORT:-${}}", Problem::BadName),
        ];
        for (word, want) in bad {
            assert_eq!(x(word).as_ref(), Err(want), "{}", shown(word));
        }
    }

    #[test]
    fn errors_are_one_line_with_status_2() {
        let err = |words: &[&[u8]]| {
            let argv: Vec<OsString> = words
                .iter()
                .map(|w| OsString::from_vec(w.to_vec()))
                .collect();
            command(&argv, &env).unwrap_err()
        };
        let e = err(&[b"app", b"--db=${UNSET:?set UNSET to the\ndatabase}"]);
        assert_eq!(e.status(), 2);
        assert_eq!(e.to_string(), "UNSET: set UNSET to the\\ndatabase");
        let e = err(&[b"${EMPTY:?}"]);
        assert_eq!(
            e.to_string(),
            "EMPTY: required by the command, but unset or empty"
        );
        let e = err(&[b"app", b"--x=${PORT"]);
        assert_eq!(e.status(), 2);
        assert!(
            e.to_string().contains("unterminated '${' in '--x=${PORT'"),
            "{e}"
        );
        let e = err(&[b"${1x}\xff"]);
        assert!(e.to_string().contains("'${1x}\\xff'"), "{e}");
        let e = err(&[b"${A:=b}"]);
        assert!(e.to_string().contains("unsupported form '${A:'"), "{e}");
        for e in [e, err(&[b"${"])] {
            assert!(!e.to_string().contains('\n'));
        }
        let argv = [
            OsString::from("${PORT}"),
            OsString::from_vec(b"\xff".to_vec()),
        ];
        assert_eq!(
            command(&argv, &env),
            Ok(vec![
                OsString::from("8080"),
                OsString::from_vec(b"\xff".to_vec())
            ])
        );
    }
}
