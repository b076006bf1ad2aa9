//! The exit status reaper reports: the main child's code, 128+N for death by signal N,
//! 126/127 for exec failures (with reaper's own message), and --remap-exit.

use crate::harness::{BOTH, Sandbox, reaper, sh};

#[test]
fn every_exit_code_passes_through_as_pid1() {
    for code in 0..=255 {
        let out = reaper(crate::harness::As::Pid1)
            .args(sh(&format!("exit {code}")))
            .run();
        assert_eq!(out.code, code, "{out:?}");
    }
}

#[test]
fn exit_codes_pass_through_as_subreaper() {
    for code in [0, 1, 2, 3, 42, 125, 126, 127, 128, 129, 143, 254, 255] {
        let out = reaper(crate::harness::As::Subreaper)
            .args(sh(&format!("exit {code}")))
            .run();
        assert_eq!(out.code, code, "{out:?}");
    }
}

#[test]
fn death_by_signal_is_128_plus_n() {
    for mode in BOTH {
        for sig in [1, 2, 3, 9, 10, 11, 13, 15, 24, 34, 37, 64] {
            let out = reaper(mode).args(sh(&format!("kill -{sig} $$"))).run();
            assert_eq!(out.code, 128 + sig, "signal {sig} as {mode:?}: {out:?}");
        }
    }
}

#[test]
fn a_missing_command_is_127_with_reapers_message() {
    for mode in BOTH {
        let out = reaper(mode).arg("no-such-command-anywhere").run();
        assert_eq!(out.code, 127, "{out:?}");
        assert_eq!(
            out.stderr,
            "reaper: cannot run 'no-such-command-anywhere': No such file or directory\n"
        );
        let out = reaper(mode).arg("/no/such/path").run();
        assert_eq!(out.code, 127, "{out:?}");
        assert!(
            out.stderr
                .contains("cannot run '/no/such/path': No such file or directory"),
            "{out:?}"
        );
    }
}

#[test]
fn a_command_that_cannot_be_executed_is_126() {
    let sandbox = Sandbox::new("noexec");
    let file = sandbox.write("not-executable", "#!/bin/sh\nexit 0\n");
    for mode in BOTH {
        let out = reaper(mode).arg(&file).run();
        assert_eq!(out.code, 126, "{out:?}");
        assert_eq!(
            out.stderr,
            format!("reaper: cannot run '{file}': Permission denied\n")
        );
        let out = reaper(mode).arg(sandbox.dir.to_str().unwrap()).run();
        assert_eq!(out.code, 126, "a directory: {out:?}");
    }
}

#[test]
fn a_path_through_a_file_is_not_a_directory_126() {
    let out = reaper(crate::harness::As::Pid1).arg("/etc/passwd/x").run();
    assert_eq!(out.code, 126, "{out:?}");
    assert_eq!(
        out.stderr,
        "reaper: cannot run '/etc/passwd/x': Not a directory\n"
    );
}

/// No `/bin/sh` fallback for a script without `#!` (glibc's execvp has one, musl's has
/// not): reaper behaves the same whatever C library it is built with, and as Docker does.
#[test]
fn a_script_without_a_shebang_is_an_exec_format_error() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new("noshebang");
    let file = sandbox.write("script", "exit 9\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = reaper(crate::harness::As::Pid1).arg(&file).run();
    assert_eq!(out.code, 126, "{out:?}");
    assert_eq!(
        out.stderr,
        format!("reaper: cannot run '{file}': Exec format error\n")
    );
}

#[test]
fn the_command_is_looked_up_on_path() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new("path");
    std::fs::create_dir(sandbox.path("denied")).unwrap();
    std::fs::create_dir(sandbox.path("bin")).unwrap();
    let denied = sandbox.write("denied/app", "#!/bin/sh\nexit 1\n");
    let app = sandbox.write("bin/app", "#!/bin/sh\nexit 12\n");
    std::fs::set_permissions(&denied, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}:/bin:/usr/bin",
        sandbox.file("denied"),
        sandbox.file("bin")
    );
    // A directory where it is not executable is passed over for the next one.
    let out = reaper(crate::harness::As::Pid1)
        .env("PATH", &path)
        .arg("app")
        .run();
    assert_eq!(out.code, 12, "{out:?}");
    // Found only where it cannot run: permission denied, 126.
    let path = format!("{}:/bin:/usr/bin", sandbox.file("denied"));
    let out = reaper(crate::harness::As::Pid1)
        .env("PATH", &path)
        .arg("app")
        .run();
    assert_eq!(out.code, 126, "{out:?}");
    assert_eq!(out.stderr, "reaper: cannot run 'app': Permission denied\n");
}

#[test]
fn remap_exit_turns_listed_codes_into_zero() {
    for mode in BOTH {
        let out = reaper(mode).args(["-e", "3"]).args(sh("exit 3")).run();
        assert_eq!(out.code, 0, "{out:?}");
        let out = reaper(mode)
            .args(["-e", "3", "--remap-exit=5"])
            .args(sh("exit 5"))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
        let out = reaper(mode).args(["-e", "3"]).args(sh("exit 4")).run();
        assert_eq!(out.code, 4, "{out:?}");
        // As with tini, the code is remapped after 128+N is computed.
        let out = reaper(mode)
            .args(["-e", "143"])
            .args(sh("kill -TERM $$"))
            .run();
        assert_eq!(out.code, 0, "{out:?}");
    }
}
