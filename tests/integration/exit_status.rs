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

/// A script without `#!` (ENOEXEC) runs as `/bin/sh SCRIPT ARGS...`, execvp's rule, as
/// tini, dumb-init, catatonit and every shell run it, found by path or on PATH (issue
/// 18.11). The script's name is the path exec tried, `$0` to the shell.
#[test]
fn a_script_without_a_shebang_runs_under_bin_sh() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new("noshebang");
    let file = sandbox.write("script", "echo \"$0:$1:$2\"; exit 9\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", sandbox.dir.display());
    for mode in BOTH {
        let out = reaper(mode).args([&file, "a b", "c"]).run();
        assert_eq!(out.code, 9, "{mode:?}: {out:?}");
        assert_eq!(out.stdout, format!("{file}:a b:c\n"), "{out:?}");
        assert_eq!(out.stderr, "", "{out:?}");
        let out = reaper(mode).env("PATH", &path).args(["script", "x"]).run();
        assert_eq!(out.code, 9, "{mode:?}: {out:?}");
        assert_eq!(out.stdout, format!("{}:x:\n", sandbox.file("script")));
    }
}

/// A binary the kernel cannot execute (another architecture's, say) stays an exec format
/// error, 126: no shell is made to read it as a script (bash's test: a NUL byte in its
/// first line).
#[test]
fn a_binary_that_cannot_be_executed_is_an_exec_format_error() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new("badbinary");
    let file = sandbox.file("binary");
    let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\xb7\0".to_vec();
    elf.extend_from_slice(b"\necho ran; exit 9\n");
    std::fs::write(&file, &elf).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    for mode in BOTH {
        let out = reaper(mode).arg(&file).run();
        assert_eq!(out.code, 126, "{mode:?}: {out:?}");
        assert_eq!(out.stdout, "", "{out:?}");
        assert_eq!(
            out.stderr,
            format!("reaper: cannot run '{file}': Exec format error\n")
        );
    }
}

/// Without a `/bin/sh` (a distroless image), a script without `#!` is 126, the file was
/// found, with one line that names both failures.
#[test]
fn a_script_without_a_shebang_and_no_shell_is_126() {
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new("noshell");
    let file = sandbox.write("script", "exit 9\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    for mode in BOTH {
        // An empty /bin in this run's own mount namespace (reaper's path is absolute).
        let out = reaper(mode)
            .wrap(["sh", "-c", "mount -t tmpfs none /bin && exec \"$@\"", "sh"])
            .arg(&file)
            .run();
        assert_eq!(out.code, 126, "{mode:?}: {out:?}");
        assert_eq!(
            out.stderr,
            format!(
                "reaper: cannot run '{file}': Exec format error (no #!), and /bin/sh to run it as a script: No such file or directory\n"
            ),
            "{out:?}"
        );
    }
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
