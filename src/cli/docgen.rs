//! The generated parts of `--help` (in `cli.rs`), the man page and the reference, written
//! from the tables: `OPTIONS` (each option's names, value, variables, help and man text)
//! and `status`'s.
//! A checked-in copy that differs from what the tables give fails this test; to write
//! them again:
//!
//! ```text
//! REAPER_REGENERATE=1 cargo test --bin reaper docgen
//! ```
//!
//! A test, not an option of reaper's: the release binary carries none of this code, and
//! none of the help and man text of the table (only test builds keep it, see `cli::Doc`):
//! only `--help`'s text, whole.

use super::{Builder, OPTIONS, Opt, Reads, Takes, Var};
use crate::status::{self, Shown};

/// The one command that writes every generated region again.
const COMMAND: &str = "REAPER_REGENERATE=1 cargo test --bin reaper docgen";

/// A region of a file between two comment lines: `BEGIN GENERATED NAME…` and
/// `END GENERATED NAME`, in the file's comment syntax.
struct Region {
    name: &'static str,
    content: String,
}

/// Comment syntax: what starts and what ends a comment line.
struct Comment(&'static str, &'static str);

const ROFF: Comment = Comment(r#".\""#, "");
const MARKDOWN: Comment = Comment("<!--", " -->");
const RUST: Comment = Comment("//", "");

const HELP_HEAD: &str = "\
reaper: PID 1 for containers. Runs COMMAND in its own process group, forwards
signals to it, reaps every orphan and zombie, and exits with COMMAND's status.

Usage: reaper [OPTIONS] [--] COMMAND [ARG]...
       reaper -P|--pause [OPTIONS]

Options:
";

const HELP_VALUES: &str = "
Signals are names (TERM, SIGTERM, sigterm, RTMIN+3, RTMAX-1) or numbers.
A DURATION is seconds (5, 0.5) or has units (500ms, 5s, 2m, 1h, 1m30s).

Environment:
";

/// The `--help` text: the options and the variables from `OPTIONS`, the exit status from
/// `status`.
pub fn help() -> String {
    let mut text = String::from(HELP_HEAD);
    for o in OPTIONS {
        let mut term = match (o.short, o.long) {
            (Some(s), Some(l)) => format!("-{}, --{l}", s as char),
            (Some(s), None) => format!("-{}", s as char),
            (None, Some(l)) => format!("    --{l}"),
            (None, None) => String::new(),
        };
        if let Takes::Value(name, _) = o.takes {
            term = format!("{term} {name}");
        }
        let mut lines = o.help.lines();
        // A term too wide for its column gets a line of its own, as GNU tools do.
        if term.len() >= 28 {
            text += &format!("  {term}\n");
        } else {
            text += &format!("  {term:<28} {}\n", lines.next().unwrap_or(""));
        }
        for line in lines {
            text += &format!("{:31}{line}\n", "");
        }
    }
    text += HELP_VALUES;
    for (opt, var) in variables() {
        if var.shown.len() > 28 {
            text += &format!("  {}\n{:32}{}\n", var.shown, "", var.help(opt));
        } else {
            text += &format!("  {:<28}  {}\n", var.shown, var.help(opt));
        }
    }
    text + "\n" + status::HELP
}

/// Every variable, with its option, in the order `--help` lists them (`listed`).
pub fn variables() -> Vec<(&'static Opt, &'static Var)> {
    let mut all: Vec<_> = OPTIONS
        .iter()
        .flat_map(|o| o.vars.iter().map(move |v| (o, v)))
        .collect();
    all.sort_by_key(|(_, v)| v.listed);
    all
}

impl Opt {
    /// Its name as a variable's text gives it: the long one if it has one.
    pub fn name(&self) -> String {
        match (self.long, self.short) {
            (Some(l), _) => format!("--{l}"),
            (None, Some(s)) => format!("-{}", s as char),
            (None, None) => String::new(),
        }
    }
}

impl Var {
    /// Its line in `--help`.
    pub fn help(&self, opt: &Opt) -> String {
        match self.reads {
            Reads::Switch => format!("as {} (1/true/yes/on, 0/false/no/off)", opt.name()),
            _ => self.help.to_string(),
        }
    }
}

/// `text` with each region's lines replaced by its content, the BEGIN line (which names
/// the command) written again too.
fn with_regions(text: &str, comment: &Comment, regions: &[Region]) -> Result<String, String> {
    let mut out = String::new();
    let mut lines = text.split_inclusive('\n');
    let mut done = 0;
    while let Some(line) = lines.next() {
        let Some(region) = regions
            .iter()
            .find(|r| line.starts_with(&format!("{} BEGIN GENERATED {} ", comment.0, r.name)))
        else {
            out += line;
            continue;
        };
        let end = format!("{} END GENERATED {}{}", comment.0, region.name, comment.1);
        out += &format!(
            "{} BEGIN GENERATED {} by: {COMMAND}{}\n",
            comment.0, region.name, comment.1
        );
        out += &region.content;
        lines
            .find(|l| l.trim_end() == end)
            .ok_or_else(|| format!("no '{end}' line"))?;
        out += &end;
        out += "\n";
        done += 1;
    }
    if done != regions.len() {
        return Err(format!("{done} of {} regions found", regions.len()));
    }
    Ok(out)
}

/// A name as roff sets it: `-` is a hyphen, `\-` the minus sign that options are made of.
fn roff(text: &str) -> String {
    text.replace('-', r"\-")
}

/// A value's name as the man page sets it: capitals in italics, `:` in bold, brackets
/// in roman (`USER[:GROUP]`).
fn metavariable(name: &str) -> String {
    let mut out = String::new();
    let mut font = 'R';
    for c in name.chars() {
        let wanted = match c {
            ':' => 'B',
            '[' | ']' => 'R',
            _ => 'I',
        };
        if wanted != font {
            out += &format!(r"\f{wanted}");
            font = wanted;
        }
        out.push(c);
    }
    if font != 'R' {
        out += r"\fR";
    }
    out
}

/// A tag set in bold, or in alternating bold and roman when it has several parts.
fn bold(parts: &[String]) -> String {
    match parts {
        [one] => format!(".B {one}"),
        _ => format!(".BR {}", parts.join(" ")),
    }
}

/// Names as a tag's parts, with a roman `", "` between them.
fn listed(names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut parts = Vec::new();
    for name in names {
        if !parts.is_empty() {
            parts.push(r#"", ""#.to_string());
        }
        parts.push(name);
    }
    parts
}

fn option_tag(o: &Opt) -> String {
    let names = o
        .short
        .map(|c| roff(&format!("-{}", c as char)))
        .into_iter()
        .chain(o.long.map(|l| roff(&format!("--{l}"))));
    let mut parts = listed(names);
    if let Takes::Value(value, _) = o.takes {
        parts.push(format!("\" {}\"", metavariable(value)));
    }
    bold(&parts)
}

fn variable_tag(v: &Var) -> String {
    let names = v.names().collect::<Vec<_>>().join(", ");
    match v.value() {
        None => bold(&listed(v.names().map(str::to_string))),
        Some(value) if value.bytes().all(|c| c.is_ascii_digit()) => format!(".B {names}={value}"),
        Some(value) if value.bytes().all(|c| c.is_ascii_uppercase()) => {
            format!(".BI {names}= {value}")
        }
        Some(value) => format!(".BR {names}= \"{}\"", metavariable(value)),
    }
}

/// A variable's man text: a switch's says what every switch does.
fn variable_man(o: &Opt, v: &Var) -> String {
    match v.reads {
        Reads::Switch => format!(
            r"As
.BR {} .
.BR 1 ,
.BR true ,
.B yes
or
.B on
turn it on;
.BR 0 ,
.BR false ,
.B no
or
.B off
leave it off; anything else is a usage error.",
            roff(&o.name())
        ),
        _ => v.man.to_string(),
    }
}

fn entry(tag: &str, text: &str) -> String {
    format!(".TP\n{tag}\n{text}\n")
}

fn man_options() -> String {
    OPTIONS
        .iter()
        .map(|o| entry(&option_tag(o), o.man))
        .collect()
}

fn man_environment() -> String {
    variables()
        .into_iter()
        .map(|(o, v)| entry(&variable_tag(v), &variable_man(o, v)))
        .collect()
}

fn man_exit_status() -> String {
    status::TABLE
        .iter()
        .map(|row| {
            let tag = match row.status {
                Shown::Is(code) => code.to_string(),
                Shown::Plus(code) => format!(r"{code} + \fIN\fR"),
                Shown::Rule(roff) => roff.to_string(),
            };
            entry(&tag, row.man)
        })
        .collect()
}

/// What `--explain` needs of each row that the release binary does not keep (its help
/// text) or cannot tell by itself (whether a flag does anything), as three constants.
fn explain_tables() -> String {
    let (mut shown, mut repeatable, mut defaults) = (0u64, 0u64, Vec::new());
    for (row, o) in OPTIONS.iter().enumerate() {
        let help = o.help.replace('\n', " ");
        if explained(o) {
            shown |= 1 << row;
        }
        if help.contains("(repeatable") {
            repeatable |= 1 << row;
        }
        defaults.push(default_in(&help));
    }
    let defaults = after_equals(&defaults.join("\n"));
    format!(
        "/// The rows `--explain` shows: those that set something (not `-g`, `-s`, `--help`...).
const EXPLAINED: u64 = {shown:#x};
/// The rows whose every value counts (`(repeatable` in their help), not the last one.
const REPEATABLE: u64 = {repeatable:#x};
/// Each row's default, as its help gives it (`(default X`), a line each.
const DEFAULTS: &str ={defaults}
"
    )
}

/// `value;` after `const NAME: &str =` as rustfmt lays it out: on the same line when it
/// fits in 100 columns, else on the next, indented.
fn after_equals(value: &str) -> String {
    let value = format!("{value:?};");
    if "const DEFAULTS: &str = ".len() + value.len() <= 100 {
        format!(" {value}")
    } else {
        format!("\n    {value}")
    }
}

/// A row sets something: it takes a value, or its flag changes the configuration without
/// ending the parsing (as `--help` does).
fn explained(o: &Opt) -> bool {
    let Takes::Nothing(set) = o.takes else {
        return true;
    };
    let mut b = Builder::new();
    set(&mut b);
    let untouched = Builder::new();
    b.done.is_none() && (b.config != untouched.config || b.pause || b.verbose > 0)
}

/// The default a help line states: what follows `(default ` up to `;` or `)`; `on` for a
/// bare `(default)` (a flag that is on anyway); empty when it states none.
fn default_in(help: &str) -> String {
    let Some((_, after)) = help.split_once("(default") else {
        return String::new();
    };
    if after.starts_with(')') {
        return "on".into();
    }
    after
        .trim_start()
        .split([';', ')'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn docgen_defaults_are_read_from_the_help() {
    assert_eq!(default_in("x (default 5s; 0 kills at once)"), "5s");
    assert_eq!(default_in("x (default continue)"), "continue");
    assert_eq!(default_in("forward to the group (default)"), "on");
    assert_eq!(default_in("no default here"), "");
    let row = |long: &str| OPTIONS.iter().find(|o| o.long == Some(long)).unwrap();
    for long in [
        "single-child",
        "grace-period",
        "user",
        "wait-all",
        "expand-env",
    ] {
        assert!(explained(row(long)), "{long}");
    }
    for long in ["subreaper", "help", "version", "license", "explain"] {
        assert!(!explained(row(long)), "{long}");
    }
    assert!(!explained(
        OPTIONS.iter().find(|o| o.short == Some(b'g')).unwrap()
    ));
}

/// Each generated file, its comment syntax and its regions.
fn generated() -> Vec<(&'static str, Comment, Vec<Region>)> {
    let help = help();
    assert!(!help.contains("\"#"), "--help cannot be a raw string");
    vec![
        (
            "src/cli.rs",
            RUST,
            vec![
                Region {
                    name: "HELP",
                    content: format!("const HELP: &str = r#\"{help}\"#;\n"),
                },
                Region {
                    name: "EXPLAIN",
                    content: explain_tables(),
                },
            ],
        ),
        (
            "doc/reaper.1",
            ROFF,
            vec![
                Region {
                    name: "OPTIONS",
                    content: man_options(),
                },
                Region {
                    name: "ENVIRONMENT",
                    content: man_environment(),
                },
                Region {
                    name: "EXIT STATUS",
                    content: man_exit_status(),
                },
            ],
        ),
        (
            "doc/options.md",
            MARKDOWN,
            vec![Region {
                name: "HELP",
                content: format!("```text\n{help}```\n"),
            }],
        ),
    ]
}

#[test]
fn docgen_the_checked_in_docs_are_what_the_tables_give() {
    let regenerate = std::env::var_os("REAPER_REGENERATE").is_some_and(|v| v == "1");
    for (relative, comment, regions) in generated() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{relative}: {e}"));
        let wanted =
            with_regions(&text, &comment, &regions).unwrap_or_else(|e| panic!("{relative}: {e}"));
        let head: String = wanted.lines().take(5).collect();
        assert!(
            relative.ends_with(".rs") || head.contains(COMMAND),
            "{relative} does not name, in its first lines, the command that writes it"
        );
        if regenerate {
            if wanted != text {
                std::fs::write(&path, &wanted).unwrap_or_else(|e| panic!("{relative}: {e}"));
            }
            continue;
        }
        let differs = text
            .lines()
            .zip(wanted.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(text.lines().count().min(wanted.lines().count()));
        assert!(
            text == wanted,
            "{relative} differs from what the tables give, from line {}:\n  checked in: {:?}\n  generated:  {:?}\nwrite it again with: {COMMAND}",
            differs + 1,
            text.lines().nth(differs),
            wanted.lines().nth(differs),
        );
    }
}

#[test]
fn docgen_tags_read_as_the_help_writes_them() {
    assert_eq!(metavariable("USER[:GROUP]"), r"\fIUSER\fR[\fB:\fIGROUP\fR]");
    assert_eq!(metavariable("FROM:TO"), r"\fIFROM\fB:\fITO\fR");
    let tag = |long: &str| {
        OPTIONS
            .iter()
            .find(|o| o.long == Some(long))
            .map(option_tag)
            .unwrap_or_default()
    };
    assert_eq!(tag("single-child"), r#".BR \-c ", " \-\-single\-child"#);
    assert_eq!(
        tag("user"),
        r#".BR \-u ", " \-\-user " \fIUSER\fR[\fB:\fIGROUP\fR]""#
    );
    assert_eq!(tag("wait-all"), r".B \-\-wait\-all");
    assert_eq!(tag("workdir"), r#".BR \-\-workdir " \fIDIR\fR""#);
    let var = |name: &str| {
        variables()
            .into_iter()
            .find(|(_, v)| v.names().any(|n| n == name))
            .map(|(_, v)| variable_tag(v))
            .unwrap_or_default()
    };
    assert_eq!(
        var("REAPER_GRACE_PERIOD"),
        ".BI REAPER_GRACE_PERIOD= DURATION"
    );
    assert_eq!(var("REAPER_WAIT_ALL"), ".B REAPER_WAIT_ALL=1");
    assert_eq!(
        var("REAPER_USER"),
        r#".BR REAPER_USER= "\fIUSER\fR[\fB:\fIGROUP\fR]""#
    );
    assert_eq!(
        var("TINI_SUBREAPER"),
        r#".BR TINI_SUBREAPER ", " TINI_KILL_PROCESS_GROUP"#
    );
    assert_eq!(var("CATATONIT_LOG"), ".B CATATONIT_LOG");
}

#[test]
fn docgen_regions_are_replaced_between_their_lines() {
    let regions = [Region {
        name: "X",
        content: "new\n".into(),
    }];
    let text = "a\n<!-- BEGIN GENERATED X by: old -->\nold\nold\n<!-- END GENERATED X -->\nb\n";
    assert_eq!(
        with_regions(text, &MARKDOWN, &regions).as_deref(),
        Ok(format!(
            "a\n<!-- BEGIN GENERATED X by: {COMMAND} -->\nnew\n<!-- END GENERATED X -->\nb\n"
        )
        .as_str())
    );
    assert!(
        with_regions(
            "a\n<!-- BEGIN GENERATED X by: y -->\nold\n",
            &MARKDOWN,
            &regions
        )
        .is_err()
    );
    assert!(with_regions("a\n", &MARKDOWN, &regions).is_err());
}
