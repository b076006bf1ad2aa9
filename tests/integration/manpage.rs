//! The man page, doc/reaper.1, stays in step with `reaper --help`: the same options, each
//! with the same value name, the same environment variables, the exit statuses --help
//! names, and the crate's version in its title line.

use std::collections::BTreeSet;

use crate::harness::{As, reaper};

fn man_page() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/doc/reaper.1");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn help() -> String {
    let out = reaper(As::Pid1).arg("--help").run();
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
}

/// The lines of --help's block that starts with `title` (e.g. "Options:"), up to the
/// next blank line.
fn help_block<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| !l.starts_with(title))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

/// The first column of a --help entry: `  -p, --pdeath-signal SIG      have SIG…` gives
/// `-p, --pdeath-signal SIG`, and a long-only one, `      --workdir DIR  …` (indented to
/// line up with the long names), `--workdir DIR`. Continuation lines (indented further)
/// give `None`.
fn help_term(line: &str) -> Option<String> {
    let rest = line.strip_prefix("  ")?;
    let rest = rest
        .strip_prefix("    ")
        .filter(|r| r.starts_with("--"))
        .unwrap_or(rest);
    if rest.starts_with(' ') {
        return None;
    }
    let term = rest.split("  ").next()?.trim();
    Some(term.to_string())
}

/// Roff source text as it reads once rendered, for the few requests and escapes a tag
/// line uses: `.BR \-c ", " \-\-single\-child` gives `-c, --single-child`.
fn unroff(line: &str) -> String {
    let (alternating, line) = match line.strip_prefix('.') {
        Some(request) => {
            let (name, args) = request.split_once(' ').unwrap_or((request, ""));
            // .BR, .IR and the like set their arguments in alternating fonts, unspaced.
            (
                name.len() == 2 && name.chars().all(|c| "BIR".contains(c)),
                args,
            )
        }
        None => (false, line),
    };
    let mut text = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('-') => text.push('-'),
                Some('f') => {
                    chars.next();
                }
                Some('&') | None => {}
                Some(other) => text.push(other),
            },
            '"' => in_quotes = !in_quotes,
            ' ' if !in_quotes && alternating => {}
            _ => text.push(c),
        }
    }
    text
}

/// The tags (the line after each `.TP`) of one section of the man page, rendered.
fn man_tags(page: &str, section: &str) -> Vec<String> {
    let heading = format!(".SH {section}");
    let mut lines = page
        .lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| !l.starts_with(".SH "));
    let mut tags = Vec::new();
    while let Some(line) = lines.next() {
        if line.trim_end() == ".TP"
            && let Some(tag) = lines.next()
        {
            tags.push(unroff(tag));
        }
    }
    tags
}

/// Environment variable names in a piece of text: words of capitals, digits and `_`.
fn variables(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|w| w.len() > 1 && w.contains('_'))
        .map(str::to_string)
        .collect()
}

/// Asserts that a section of the man page lists what `--help` lists, no more and no less.
fn assert_same(from_help: &BTreeSet<String>, from_man: &BTreeSet<String>, section: &str) {
    let missing: Vec<_> = from_help.difference(from_man).collect();
    let extra: Vec<_> = from_man.difference(from_help).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "doc/reaper.1 {section} and --help differ\n  only in --help: {missing:?}\n  only in the man page: {extra:?}"
    );
}

#[test]
fn the_man_page_has_every_option_of_help_and_no_other() {
    let help = help();
    // Whitespace is not compared: --help aligns with spaces, the man page has none.
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let from_help: BTreeSet<String> = help_block(&help, "Options:")
        .into_iter()
        .filter_map(help_term)
        .map(|t| squeeze(&t.replace(", ", ",")))
        .collect();
    assert!(
        from_help.len() >= 12,
        "too few options parsed: {from_help:?}"
    );
    let from_man: BTreeSet<String> = man_tags(&man_page(), "OPTIONS")
        .iter()
        .map(|t| squeeze(t).replace(", ", ","))
        .collect();
    assert_same(&from_help, &from_man, "OPTIONS");
}

#[test]
fn the_man_page_has_every_environment_variable_of_help_and_no_other() {
    let help = help();
    let from_help: BTreeSet<String> = help_block(&help, "Environment:")
        .into_iter()
        .filter_map(help_term)
        .flat_map(|t| variables(&t))
        .collect();
    assert!(
        from_help.contains("REAPER_GRACE_PERIOD") && from_help.len() >= 6,
        "too few variables parsed: {from_help:?}"
    );
    let from_man: BTreeSet<String> = man_tags(&man_page(), "ENVIRONMENT")
        .iter()
        .flat_map(|t| variables(t))
        .collect();
    assert_same(&from_help, &from_man, "ENVIRONMENT");
}

#[test]
fn the_man_page_has_every_exit_status_of_help() {
    let help = help();
    let paragraph = help
        .split("Exit status:")
        .nth(1)
        .expect("--help has an 'Exit status:' paragraph");
    let numbers = |text: &str| -> BTreeSet<String> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    };
    let from_help = numbers(paragraph);
    assert!(from_help.contains("127") && from_help.contains("128"));
    let from_man = numbers(&man_tags(&man_page(), "EXIT STATUS").join(" "));
    let missing: Vec<_> = from_help.difference(&from_man).collect();
    assert!(
        missing.is_empty(),
        "doc/reaper.1 EXIT STATUS lacks {missing:?} (from --help: {paragraph})"
    );
}

#[test]
fn the_man_page_names_the_crates_version() {
    let page = man_page();
    let title = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH line");
    let wanted = format!("\"reaper {}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        title.contains(&wanted),
        "doc/reaper.1's title line should name {wanted}: {title}"
    );
}

#[test]
fn help_terms_of_short_long_and_long_only_options() {
    let term = |l: &str| help_term(l);
    assert_eq!(
        term("  -u, --user USER[:GROUP]      run COMMAND").as_deref(),
        Some("-u, --user USER[:GROUP]")
    );
    assert_eq!(
        term("      --workdir DIR            run COMMAND in DIR").as_deref(),
        Some("--workdir DIR")
    );
    assert_eq!(
        term("  -g                           forward").as_deref(),
        Some("-g")
    );
    assert_eq!(term("                               is not PID 1"), None);
}

#[test]
fn unroff_renders_tag_lines() {
    assert_eq!(
        unroff(r#".BR \-c ", " \-\-single\-child"#),
        "-c, --single-child"
    );
    assert_eq!(
        unroff(r#".BR \-r ", " \-\-rewrite " \fIFROM\fB:\fITO\fR""#),
        "-r, --rewrite FROM:TO"
    );
    assert_eq!(unroff(".B \\-g"), "-g");
    assert_eq!(
        unroff(".BI REAPER_GRACE_PERIOD= DURATION"),
        "REAPER_GRACE_PERIOD=DURATION"
    );
    assert_eq!(unroff("128 + \\fIN\\fR"), "128 + N");
    assert_eq!(unroff(".B DUMB_INIT_SETSID=0"), "DUMB_INIT_SETSID=0");
}
