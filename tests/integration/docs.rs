//! Facts the documentation states that no generator keeps true (the man page's options,
//! variables and exit statuses are generated from the tables, src/cli/docgen.rs; these are
//! the rest): each test reads the repository's files and fails when the documentation and
//! what it describes part ways. None of them runs reaper.

use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether this is the packaged crate, which leaves the container harness and the release
/// scripts out (Cargo.toml's `include`), and with them the facts the tests below check
/// against them: `cargo package` writes Cargo.toml.orig, a checkout has none.
fn packaged_crate() -> bool {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("Cargo.toml.orig")
        .exists()
}

/// The names of the container test cases, docker-test/cases/NAME.bats.
fn container_cases() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker-test/cases");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".bats").map(str::to_string)
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no case in {}", dir.display());
    cases
}

/// The lines of a roff section, from `.SH NAME` to the next `.SH`.
fn man_section<'a>(page: &'a str, name: &str) -> Vec<&'a str> {
    let heading = format!(".SH {name}");
    page.lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| !l.starts_with(".SH "))
        .collect()
}

#[test]
fn the_man_page_finds_the_terminal_where_reaper_opens_it() {
    // The path src/terminal.rs opens, as the man page must name it.
    let source = read("src/terminal.rs");
    let opened = source
        .split(".open(\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("src/terminal.rs opens no path");
    assert_eq!(opened, "/dev/tty", "src/terminal.rs opens {opened}");
    let page = read("doc/reaper.1");
    assert!(
        page.contains(&format!(".RI ( {opened} ,")),
        "doc/reaper.1 does not say the terminal is {opened}"
    );
    assert!(
        !page.contains("standard input is a terminal"),
        "doc/reaper.1 says reaper looks at its standard input for the terminal; it opens {opened}"
    );
}

/// "reaper never stops itself" holds as PID 1 only: not as PID 1 it stops with its app
/// under a job-control shell (DESIGN.md, step 5).
#[test]
fn never_stopping_itself_is_said_of_pid_1_only() {
    for doc in [
        "README.md",
        "doc/reaper.1",
        "doc/options.md",
        "doc/coming-from.md",
        "doc/containers.md",
    ] {
        let text = read(doc).replace('\n', " ");
        for sentence in text.split_inclusive(". ") {
            if sentence.contains("never stops itself") || sentence.contains("never suspends itself")
            {
                assert!(
                    sentence.contains("As PID 1") || sentence.contains("as PID 1"),
                    "{doc}: '{}' is true as PID 1 only",
                    sentence.trim()
                );
            }
        }
    }
    let page = read("doc/reaper.1");
    assert!(
        page.contains("Not as PID 1, when its application is stopped"),
        "doc/reaper.1 does not say when reaper stops with its application"
    );
}

/// Pages in SEE ALSO, each with the Debian 12 package that ships it (checked with
/// `dpkg -L`). tini and catatonit ship no man page in Debian, so they are not listed.
const SEE_ALSO_SHIPPED: &[(&str, &str)] = &[
    ("dumb-init(1)", "dumb-init"),
    ("docker-run(1)", "docker.io"),
    ("prctl(2)", "manpages-dev"),
    ("waitpid(2)", "manpages-dev"),
    ("signal(7)", "manpages"),
    ("pid_namespaces(7)", "manpages"),
];

#[test]
fn see_also_names_only_pages_debian_ships() {
    let page = read("doc/reaper.1");
    let named: Vec<String> = man_section(&page, "SEE ALSO")
        .iter()
        .filter_map(|l| l.strip_prefix(".BR "))
        .map(|l| l.trim_end_matches(',').replace("\\-", "-").replace(' ', ""))
        .collect();
    assert!(!named.is_empty(), "doc/reaper.1 has no SEE ALSO entry");
    for page in &named {
        assert!(
            SEE_ALSO_SHIPPED.iter().any(|(p, _)| p == page),
            "SEE ALSO names {page}, which is not among the pages known to ship in Debian \
             ({SEE_ALSO_SHIPPED:?}); check it (dpkg -L PACKAGE, man -w) and add it there"
        );
    }
}

/// doc/runtimes.md gives the number of `docker-*` cases: it is the number of files.
#[test]
fn runtimes_md_counts_the_docker_cases() {
    if packaged_crate() {
        return;
    }
    let doc = read("doc/runtimes.md");
    let stated: usize = doc
        .split("`docker-*` (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("doc/runtimes.md: no '`docker-*` (N cases' in the table");
    let actual = container_cases()
        .iter()
        .filter(|c| c.starts_with("docker-"))
        .count();
    assert_eq!(
        stated, actual,
        "doc/runtimes.md counts {stated} docker-* cases; docker-test/cases has {actual}"
    );
}

/// Every case of docker-test/cases is described, in doc/testing.md's table (Docker and
/// podman) or doc/runtimes.md's (containerd, runc, crun), and no row names a case that
/// does not exist.
#[test]
fn every_container_case_is_described_and_no_other() {
    if packaged_crate() {
        return;
    }
    let cases = container_cases();
    let testing = read("doc/testing.md");
    let runtimes = read("doc/runtimes.md");
    let rows: Vec<&str> = testing
        .lines()
        .skip_while(|l| !l.starts_with("## Tests in real containers"))
        .skip(1)
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| ")?.split(" |").next())
        // A case's name, not the header ("case") or the rule ("---").
        .filter(|cell| {
            cell.contains('-')
                && cell
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && cell.chars().any(|c| c.is_ascii_lowercase())
        })
        .collect();
    assert!(!rows.is_empty(), "doc/testing.md: no case table");
    for row in &rows {
        assert!(
            cases.iter().any(|c| c == row),
            "doc/testing.md describes '{row}', which is no file of docker-test/cases"
        );
    }
    for case in &cases {
        assert!(
            rows.contains(&case.as_str()) || runtimes.contains(&format!("| `{case}` |")),
            "docker-test/cases/{case}.bats is described neither in doc/testing.md's table nor in doc/runtimes.md's"
        );
    }
}

/// Each case is one bats test named after its file (`@test "NAME: what it checks"`: the
/// title `docker-test/run --list` shows and the TAP line names), with its runtime and a
/// hard limit (doc/testing.md, "Writing a case").
#[test]
fn every_container_case_is_one_test_named_after_its_file() {
    if packaged_crate() {
        return;
    }
    for case in container_cases() {
        let text = read(&format!("docker-test/cases/{case}.bats"));
        let tests: Vec<&str> = text.lines().filter(|l| l.starts_with("@test ")).collect();
        assert_eq!(
            tests.len(),
            1,
            "docker-test/cases/{case}.bats: one @test a case, not {tests:?}"
        );
        assert!(
            tests[0].starts_with(&format!("@test \"{case}: ")),
            "docker-test/cases/{case}.bats: its test is not named \"{case}: ...\": {}",
            tests[0]
        );
        assert!(
            text.lines().any(|l| l.starts_with("# runtime: ")),
            "docker-test/cases/{case}.bats: no '# runtime:' line"
        );
        assert!(
            text.lines().any(|l| l.starts_with("BATS_TEST_TIMEOUT=")),
            "docker-test/cases/{case}.bats: no hard limit (BATS_TEST_TIMEOUT=)"
        );
        assert!(
            text.contains("load ../lib/common"),
            "docker-test/cases/{case}.bats: does not load ../lib/common"
        );
    }
}

/// doc/releasing.md states the size limit that release/build enforces, not sizes that go
/// stale with every change.
#[test]
fn releasing_md_states_the_size_limit_release_build_checks() {
    if packaged_crate() {
        return;
    }
    let build = read("release/build");
    let limit = build
        .lines()
        .find_map(|l| l.trim().strip_prefix("max_bytes=$(("))
        .and_then(|l| l.strip_suffix("))"))
        .expect("release/build sets no max_bytes=$((…))");
    assert_eq!(
        limit, "1024 * 1024",
        "release/build's size limit changed: change doc/releasing.md too"
    );
    let budget = build
        .lines()
        .find_map(|l| l.trim().strip_prefix("amd64_budget=$(("))
        .and_then(|l| l.strip_suffix("))"))
        .expect("release/build sets no amd64_budget=$((…))");
    assert_eq!(
        budget, "512 * 1024",
        "release/build's amd64 budget changed: change doc/releasing.md too"
    );
    let doc = read("doc/releasing.md");
    assert!(
        doc.contains("amd64 binary of 512 KiB (524,288 bytes)"),
        "doc/releasing.md does not state release/build's amd64 budget (512 KiB)"
    );
    assert!(
        doc.contains("under 1 MiB"),
        "doc/releasing.md does not state release/build's limit (1 MiB)"
    );
    assert!(
        !doc.contains(" KB"),
        "doc/releasing.md states sizes in KB, which go stale: state the limit"
    );
}

/// The first screen of the README builds the image that its snippet copies from.
#[test]
fn the_readmes_first_snippet_has_its_build_step() {
    let readme = read("README.md");
    let first_screen = readme.split("\n## ").next().unwrap_or_default();
    let block = |lang: &str| {
        first_screen
            .split(&format!("```{lang}\n"))
            .nth(1)
            .and_then(|b| b.split("```").next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("README.md: no ```{lang} block before the first section"))
    };
    assert_eq!(
        block("sh").trim(),
        "release/build amd64 && docker build -t reaper ."
    );
    assert!(block("dockerfile").starts_with("COPY --from=reaper /reaper /reaper\n"));
    assert!(
        first_screen.contains("every catchable signal but SIGCHLD and the synchronous faults"),
        "README.md's first paragraph: reaper does not forward every signal"
    );
}

#[test]
fn the_changelog_has_one_unreleased_section() {
    let changelog = read("CHANGELOG.md");
    let versions: Vec<&str> = changelog
        .lines()
        .filter(|l| l.starts_with("## ["))
        .collect();
    assert_eq!(
        versions.iter().filter(|l| **l == "## [Unreleased]").count(),
        1,
        "CHANGELOG.md: {versions:?}"
    );
    for heading in &versions {
        assert!(
            !heading.contains("not yet released"),
            "CHANGELOG.md: '{heading}': unreleased changes go under [Unreleased]"
        );
    }
}

/// doc/testing.md: every install waits for the dpkg lock and fails when it fails. The
/// scripts call apt-get only through tests/apt-install, which does both.
#[test]
fn the_scripts_install_only_through_tests_apt_install() {
    if packaged_crate() {
        return;
    }
    let scripts = [
        "tests/prerequisites.sh",
        "tests/run-all",
        "docker-test/run",
        "docker-test/lib/engines.bash",
        "docker-test/lib/common.bash",
        "release/build",
        "release/deb",
        "release/test-foreign",
        "release/test-image",
        "release/oci",
        "release/sbom",
        "release/test-install",
        "bench/run",
        ".ci/run",
    ];
    for script in scripts {
        for (n, line) in read(script).lines().enumerate() {
            let code = line.split('#').next().unwrap_or_default();
            assert!(
                !code.contains("apt-get") && !code.contains("apt "),
                "{script}:{}: '{}' calls apt directly; use tests/apt-install",
                n + 1,
                line.trim()
            );
        }
    }
    let installer = read("tests/apt-install");
    assert!(
        installer.contains("apt-get -o DPkg::Lock::Timeout="),
        "tests/apt-install does not wait for the dpkg lock"
    );
}
