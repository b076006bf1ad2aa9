//! `--user` and `--workdir`: the application runs as another user, reaper stays root.
//!
//! Each run has /etc/passwd and /etc/group of its own, written by the test and
//! bind-mounted inside the run's mount namespace (the harness's `unshare` makes one), so
//! the machine's own account files are never touched. Needs real root: mapped root in a
//! user namespace cannot switch to an unmapped uid.

use std::os::unix::fs::PermissionsExt;

use crate::harness::{As, BOTH, Outcome, Run, Sandbox, reaper, sh, testkit_str};

const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
app:x:4321:4322:The app,,,:/home/app:/bin/sh
other:x:4330:4330::/home/other:/bin/sh
broken:x:4340
huge:x:4294967296:4340::/:/bin/sh
six:x:4350:4351::/home/six
extra:x:4352:4353:Extra:/home/extra:/bin/sh:more:fields
unusable:x:4360:zz::/home/unusable:/bin/sh
";

const GROUP: &str = "\
root:x:0:
app:x:4322:
staff:x:4400:other,app
audio:x:4401:app
video:x:4402:appx,nobody
";

/// Fails without real root unless skipping is asked for on purpose (harness::cannot_run).
fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        crate::harness::cannot_run("switching users needs real root");
    }
    root
}

/// `reaper` with the test's own /etc/passwd and /etc/group mounted over the real ones.
fn with_accounts(mode: As, sandbox: &Sandbox, passwd: &str) -> Run {
    with_accounts_through(mode, sandbox, passwd, "")
}

/// The same, reaper started through `exec` (a command that execs the rest, or nothing).
fn with_accounts_through(mode: As, sandbox: &Sandbox, passwd: impl AsRef<[u8]>, exec: &str) -> Run {
    std::fs::write(sandbox.path("passwd"), passwd).unwrap();
    let passwd = sandbox.file("passwd");
    let group = sandbox.write("group", GROUP);
    let script = format!(
        "mount --bind \"$0\" /etc/passwd && mount --bind \"$1\" /etc/group && shift && exec {exec} \"$@\""
    );
    reaper(mode).wrap(["sh", "-c", &script, &passwd, &group])
}

/// The value of a `key: value` line of testkit inspect's output, whitespace squeezed.
fn field(out: &Outcome, key: &str) -> String {
    let prefix = format!("{key}:");
    let line = out.stdout.lines().find_map(|l| l.strip_prefix(&prefix));
    let line = line.unwrap_or_else(|| panic!("no {key} in {out:?}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The supplementary groups, sorted (the kernel keeps them sorted anyway).
fn groups(out: &Outcome) -> Vec<u32> {
    let mut g: Vec<u32> = field(out, "Groups")
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    g.sort();
    g
}

/// `--user SPEC testkit inspect` with the test's account files: what the app was given.
fn inspect_as(mode: As, sandbox: &Sandbox, spec: &str) -> Outcome {
    with_accounts(mode, sandbox, PASSWD)
        .args(["--user", spec, &testkit_str(), "inspect"])
        .run()
}

/// Asserts that testkit inspect ran (status 0) with this uid and gid, each the same for
/// real, effective, saved and filesystem, and these supplementary groups.
#[track_caller]
fn assert_ids(out: &Outcome, (uid, gid): (u32, u32), supplementary: &[u32], what: &str) {
    assert_eq!(out.code, 0, "{what}: {out:?}");
    let four = |id: u32| format!("{id} {id} {id} {id}");
    assert_eq!(field(out, "Uid"), four(uid), "{what}: {out:?}");
    assert_eq!(field(out, "Gid"), four(gid), "{what}: {out:?}");
    assert_eq!(groups(out), supplementary, "{what}: {out:?}");
}

fn env_has(out: &Outcome, entry: &str) -> bool {
    let hex: String = entry.bytes().map(|b| format!("{b:02x}")).collect();
    out.stdout.lines().any(|l| l == format!("env: {hex}"))
}

fn has_home(out: &Outcome) -> bool {
    let hex: String = b"HOME=".iter().map(|b| format!("{b:02x}")).collect();
    out.stdout
        .lines()
        .any(|l| l.starts_with(&format!("env: {hex}")))
}

#[test]
fn a_name_switches_groups_gid_and_uid_for_good() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-name");
        let out = inspect_as(mode, &sandbox, "app");
        let what = format!("{mode:?}: the groups exactly as /etc/group lists app");
        assert_ids(&out, (4321, 4322), &[4322, 4400, 4401], &what);
        assert_eq!(field(&out, "regain-root"), "no", "{out:?}");
        assert!(env_has(&out, "HOME=/home/app"), "{out:?}");
        assert!(!out.stdout.contains("env: 555345523d"), "USER left alone");
        assert_eq!(out.stderr, "", "{mode:?}");
    }
}

#[test]
fn reaper_itself_stays_root() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-reaper-root");
        // The app reports reaper's ids (its parent's, PPid) once it runs as app.
        let script = "grep -E '^(Uid|Gid):' /proc/$PPID/status; id -u";
        let out = with_accounts(mode, &sandbox, PASSWD)
            .args(["--user", "app"])
            .args(sh(script))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        let lines: Vec<String> = out
            .stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(lines, ["Uid: 0 0 0 0", "Gid: 0 0 0 0", "4321"], "{out:?}");
    }
}

#[test]
fn numeric_ids_with_and_without_an_entry() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-numeric");
        // A uid with an entry is that entry: its gid, groups and home.
        let out = inspect_as(mode, &sandbox, "4321");
        assert_ids(&out, (4321, 4322), &[4322, 4400, 4401], "4321");
        assert!(env_has(&out, "HOME=/home/app"), "{out:?}");
        // One without needs none: the root group, as Docker's --user 1000, and no HOME.
        let out = inspect_as(mode, &sandbox, "5000");
        assert_ids(&out, (5000, 0), &[0], "5000");
        assert_eq!(field(&out, "regain-root"), "no", "{out:?}");
        assert!(!has_home(&out), "{out:?}");
        let out = inspect_as(mode, &sandbox, "5000:5001");
        assert_ids(&out, (5000, 5001), &[5001], "5000:5001");
    }
}

/// Ids past 65535 are set whole. On i386 and 32-bit ARM the plain setresuid, setresgid
/// and setgroups numbers are the old 16-bit-id calls, which would cut 100000 to 34464:
/// release/test-foreign runs this against the 386 binary, which must use the `*32` calls.
#[test]
fn ids_past_sixteen_bits_are_set_whole() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-32-bit-ids");
        let out = with_accounts(mode, &sandbox, PASSWD)
            .args(["--user", "100000:100001", &testkit_str(), "inspect"])
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(field(&out, "Uid"), "100000 100000 100000 100000", "{out:?}");
        assert_eq!(field(&out, "Gid"), "100001 100001 100001 100001", "{out:?}");
        assert_eq!(groups(&out), [100001], "{out:?}");
    }
}

#[test]
fn user_and_group_and_the_environment_forms() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-group");
        // The group named alone, as gosu and Docker give it (issue 18.7).
        let out = inspect_as(mode, &sandbox, "app:staff");
        assert_ids(&out, (4321, 4400), &[4400], "app:staff");
        let out = inspect_as(mode, &sandbox, "other:4402");
        assert_ids(&out, (4330, 4402), &[4402], "other:4402");
        // REAPER_USER and REAPER_WORKDIR; HOME set already is left as it is.
        let out = with_accounts(mode, &sandbox, PASSWD)
            .env("REAPER_USER", "app")
            .env("REAPER_WORKDIR", "/")
            .env("HOME", "/custom")
            .args([&testkit_str(), "inspect"])
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(field(&out, "Uid"), "4321 4321 4321 4321");
        assert_eq!(field(&out, "cwd"), "/");
        assert!(env_has(&out, "HOME=/custom"), "{out:?}");
        assert!(!env_has(&out, "HOME=/home/app"), "{out:?}");
        // The option wins over the variable.
        let out = with_accounts(mode, &sandbox, PASSWD)
            .env("REAPER_USER", "app")
            .args(["--user", "other", &testkit_str(), "inspect"])
            .run();
        assert_eq!(field(&out, "Uid"), "4330 4330 4330 4330", "{out:?}");
    }
}

/// Each bad `--user` is one line naming it and its reason, status 2, and no app.
#[test]
fn a_bad_user_is_one_line_and_no_application() {
    if !is_root() {
        return;
    }
    let long = "a".repeat(300);
    let cases: &[(&str, &str)] = &[
        ("nobody-here", "no user 'nobody-here' in /etc/passwd"),
        ("app:nogroup", "no group 'nogroup' in /etc/group"),
        ("broken", "malformed /etc/passwd line 4"),
        ("huge", "malformed /etc/passwd line 5 (bad uid)"),
        (&long, "user name longer than 255 bytes"),
        ("4294967296", "uid '4294967296' is not an id"),
        ("4294967295", "uid '4294967295' is not an id"),
        ("app:99999999999", "gid '99999999999' is not an id"),
    ];
    for mode in BOTH {
        for (spec, reason) in cases {
            let sandbox = Sandbox::new("user-bad");
            let out = with_accounts(mode, &sandbox, PASSWD)
                .current_dir(&sandbox.dir)
                .args(["--user", spec])
                .args(sh("touch started"))
                .run();
            assert_eq!(out.code, 2, "{spec}: {out:?}");
            assert_eq!(out.stderr.lines().count(), 1, "{spec}: {out:?}");
            assert!(out.stderr.starts_with("reaper: "), "{out:?}");
            assert!(out.stderr.contains(&format!("'{spec}'")), "{out:?}");
            assert!(out.stderr.contains(reason), "{spec}: {out:?}");
            assert!(!sandbox.path("started").exists(), "{spec}: the app ran");
        }
    }
}

/// A step of the switch that the kernel refuses (here: reaper is not root, so it may not
/// set groups) is reported with the user and the reason, status 1, and no app.
#[test]
fn a_refused_switch_fails_closed() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-refused");
        std::fs::set_permissions(&sandbox.dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let setpriv = "setpriv --reuid 4330 --regid 4330 --clear-groups";
        let out = with_accounts_through(mode, &sandbox, PASSWD, setpriv)
            .current_dir(&sandbox.dir)
            .args(["--user", "app"])
            .args(sh("touch started"))
            .run();
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
        // The line names both: the ids asked for and the ones reaper has (issue 18.8).
        assert!(
            out.stderr.contains("as user 'app' (uid 4321, gid 4322)")
                && out
                    .stderr
                    .contains("reaper runs as uid 4330, gid 4330 and may not switch to other ids")
                && out
                    .stderr
                    .contains("failed to set the supplementary groups: Operation not permitted"),
            "{out:?}"
        );
        assert!(!sandbox.path("started").exists(), "the app ran");
    }
}

#[test]
fn workdir_is_entered_as_the_user() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-workdir");
        std::fs::set_permissions(&sandbox.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let open = sandbox.path("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let closed = sandbox.path("closed");
        std::fs::create_dir(&closed).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).unwrap();
        let file = sandbox.write("file", "");
        let run = |args: &[&str]| {
            with_accounts(mode, &sandbox, PASSWD)
                .args(args)
                .args(sh("pwd; id -u"))
                .run()
        };
        let out = run(&["--user", "app", "--workdir", open.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, format!("{}\n4321\n", open.display()));
        // root may enter the closed directory; the user may not.
        let out = run(&["--workdir", closed.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{out:?}");
        assert_eq!(out.stdout, format!("{}\n0\n", closed.display()));
        let cases = [
            (closed.to_str().unwrap(), "Permission denied"),
            (&file, "Not a directory"),
            ("/nonexistent/dir", "No such file or directory"),
        ];
        for (dir, reason) in cases {
            let out = run(&["--user", "app", "--workdir", dir]);
            assert_eq!(out.code, 1, "{dir}: {out:?}");
            assert_eq!(out.stdout, "", "{dir}: the app ran: {out:?}");
            assert_eq!(out.stderr.lines().count(), 1, "{dir}: {out:?}");
            assert!(
                out.stderr.contains(&format!(
                    "as user 'app' (uid 4321, gid 4322): cannot change to directory '{dir}': {reason}"
                )),
                "{dir}: {out:?}"
            );
        }
        let out = run(&["--workdir", "/nonexistent/dir"]);
        assert_eq!((out.code, out.stdout.as_str()), (1, ""), "{out:?}");
        assert!(
            out.stderr
                .contains("cannot run 'sh': cannot change to directory '/nonexistent/dir'"),
            "{out:?}"
        );
    }
}

/// A line glibc (`getent passwd`), runc and gosu read (six fields, no shell; fields after
/// the shell) is an entry, by name and by uid: its gid and home, never the root group. One
/// found by its uid that cannot be used fails closed (issue 18.6).
#[test]
fn entries_are_read_as_glibc_reads_them() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-glibc");
        for spec in ["4350", "six"] {
            let out = inspect_as(mode, &sandbox, spec);
            assert_ids(&out, (4350, 4351), &[4351], &format!("{spec} as {mode:?}"));
            assert!(env_has(&out, "HOME=/home/six"), "{spec}: {out:?}");
        }
        let out = inspect_as(mode, &sandbox, "4352");
        assert_ids(&out, (4352, 4353), &[4353], "4352");
        assert!(env_has(&out, "HOME=/home/extra"), "{out:?}");
        let out = inspect_as(mode, &sandbox, "4360");
        assert_eq!(out.code, 2, "{out:?}");
        assert_eq!(
            out.stderr,
            "reaper: --user '4360': malformed /etc/passwd line 8 (bad gid) (see 'reaper --help')\n",
            "{out:?}"
        );
        assert_eq!(out.stdout, "", "the app ran: {out:?}");
    }
}

/// `USER:GROUP` is that group alone, by number too: `--user 4321:4322` has groups 4322,
/// not 4322 and the groups of /etc/group that list app (issue 18.7). Without a group,
/// those groups are added.
#[test]
fn a_group_named_is_the_only_group() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-group-alone");
        for spec in ["4321:4322", "app:app", "app:4322"] {
            let out = inspect_as(mode, &sandbox, spec);
            assert_ids(&out, (4321, 4322), &[4322], &format!("{spec} as {mode:?}"));
        }
        let out = inspect_as(mode, &sandbox, "4321");
        assert_eq!(groups(&out), [4322, 4400, 4401], "{out:?}");
    }
}

/// reaper started as the user already (`docker run --user 4321`, Kubernetes' runAsUser,
/// with REAPER_USER=app in the image): nothing to switch, the app runs, whatever groups
/// the runtime gave (issue 18.8).
#[test]
fn a_reaper_that_already_is_the_user_runs_the_app() {
    if !is_root() {
        return;
    }
    let runtimes: &[(&str, &[u32])] = &[
        // The groups reaper would set: nothing at all to switch.
        (
            "setpriv --reuid 4321 --regid 4322 --groups 4322,4400,4401",
            &[4322, 4400, 4401],
        ),
        // Other groups (a pod's fsGroup, say), which a non-root reaper may not change.
        (
            "setpriv --reuid 4321 --regid 4322 --groups 4322,4999",
            &[4322, 4999],
        ),
        ("setpriv --reuid 4321 --regid 4322 --clear-groups", &[]),
    ];
    for mode in BOTH {
        for (setpriv, kept) in runtimes {
            let sandbox = Sandbox::new("user-already");
            let out = with_accounts_through(mode, &sandbox, PASSWD, setpriv)
                .env("REAPER_USER", "app")
                .args([&testkit_str(), "inspect"])
                .run();
            assert_ids(&out, (4321, 4322), kept, &format!("{setpriv} as {mode:?}"));
            assert!(env_has(&out, "HOME=/home/app"), "{out:?}");
            assert_eq!(out.stderr, "", "{setpriv}: {out:?}");
        }
        // With -v, the groups kept are said once.
        let sandbox = Sandbox::new("user-already-v");
        let out = with_accounts_through(mode, &sandbox, PASSWD, runtimes[2].0)
            .args(["-v", "--user", "app", "true"])
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        assert!(
            out.stderr.contains(
                "reaper already runs as user 'app' (uid 4321, gid 4322) and may not set its groups"
            ),
            "{out:?}"
        );
    }
}

/// A user name that is not UTF-8 is looked up as the bytes given (issue 18.9).
#[test]
fn a_user_name_is_bytes() {
    use std::os::unix::ffi::OsStrExt;
    if !is_root() {
        return;
    }
    let passwd = [
        PASSWD.as_bytes(),
        b"\xffbin:x:4370:4371::/home/\xff:/bin/sh\n",
    ]
    .concat();
    for mode in BOTH {
        let sandbox = Sandbox::new("user-bytes");
        let out = with_accounts_through(mode, &sandbox, &passwd, "")
            .arg("--user")
            .arg(std::ffi::OsStr::from_bytes(b"\xffbin"))
            .args([&testkit_str(), "inspect"])
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert_eq!(field(&out, "Uid"), "4370 4370 4370 4370", "{out:?}");
        // HOME=/home/\xff, in testkit's hex.
        assert!(
            out.stdout.contains("env: 484f4d453d2f686f6d652fff\n"),
            "{out:?}"
        );
        let out = with_accounts_through(mode, &sandbox, &passwd, "")
            .arg("--user")
            .arg(std::ffi::OsStr::from_bytes(b"\xfe"))
            .arg("true")
            .run();
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains("no user '\\xfe'"), "{out:?}");
    }
}

/// `--expand-env` expands from the environment the command gets: with `--user`, a `HOME`
/// unset or empty is the user's home; one that is set stays.
#[test]
fn expand_env_sees_the_home_the_user_gets() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-expand-home");
        let run = |home: Option<&str>| {
            let mut run = with_accounts(mode, &sandbox, PASSWD);
            if let Some(home) = home {
                run = run.env("HOME", home);
            }
            run.args(["--user", "app", "--expand-env"])
                .args([
                    "sh",
                    "-c",
                    "printf '%s %s' \"$1\" \"$HOME\"",
                    "sh",
                    "${HOME}",
                ])
                .run()
        };
        for home in [None, Some("")] {
            let out = run(home);
            assert_eq!(out.code, 0, "{mode:?}: {out:?}");
            assert_eq!(out.stdout, "/home/app /home/app", "{home:?}");
        }
        let out = run(Some("/data"));
        assert_eq!(out.stdout, "/data /data", "{out:?}");
    }
}

/// `--explain` shows the ids and groups `--user` gives, and the directory, without
/// starting anything; an unknown user is the usual usage error.
#[test]
fn explain_shows_the_user_the_command_would_run_as() {
    if !is_root() {
        return;
    }
    for mode in BOTH {
        let sandbox = Sandbox::new("user-explain");
        let marker = sandbox.file("started");
        let out = with_accounts(mode, &sandbox, PASSWD)
            .args([
                "--explain",
                "--user",
                "app",
                "--workdir=/tmp",
                "touch",
                &marker,
            ])
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let value = |key| crate::explain::value(&out, key);
        assert_eq!(value("uid"), "4321");
        assert_eq!(value("gid"), "4322");
        assert_eq!(value("groups"), "4322 4400 4401");
        assert_eq!(value("directory"), "/tmp");
        assert_eq!(value("user"), "app (option --user)");
        assert_eq!(value("workdir"), "/tmp (option --workdir)");
        assert!(!sandbox.path("started").exists());
        let out = with_accounts(mode, &sandbox, PASSWD)
            .args(["--explain", "--user", "nobody-here", "true"])
            .run();
        assert_eq!(out.code, 2, "{mode:?}: {out:?}");
        assert_eq!(out.stdout, "");
        assert!(out.stderr.contains("'nobody-here'"), "{out:?}");
    }
}
