//! The termination message (`--termination-log`): one line saying why the app failed, only
//! into a regular file that is there and empty, never changing the exit status.
//! (The out-of-memory kill's line is in oom.rs.)

use crate::harness::{BOTH, Sandbox, reaper, sh};

#[test]
fn a_failure_is_explained_in_one_line_and_the_status_is_unchanged() {
    let sandbox = Sandbox::new("termlog");
    let cases: &[(&[&str], i32, &str)] = &[
        (&["sh", "-c", "exit 3"], 3, "exited with status 3\n"),
        (&["sh", "-c", "kill -SEGV $$"], 139, "killed by SIGSEGV\n"),
        (&["sh", "-c", "kill -TERM $$"], 143, "killed by SIGTERM\n"),
        (
            &["no-such-command-anywhere"],
            127,
            "cannot run 'no-such-command-anywhere': No such file or directory\n",
        ),
        // Success, or a status remapped to it, is no failure: nothing is written.
        (&["sh", "-c", "exit 0"], 0, ""),
        (&["-e", "3", "sh", "-c", "exit 3"], 0, ""),
    ];
    for mode in BOTH {
        for &(args, code, want) in cases {
            let log = sandbox.write("termination-log", "");
            let out = reaper(mode)
                .args(["--termination-log", &log])
                .args(args)
                .run();
            assert_eq!(out.code, code, "{args:?} as {mode:?}: {out:?}");
            assert_eq!(
                sandbox.read("termination-log"),
                want,
                "{args:?} as {mode:?}"
            );
        }
    }
}

#[test]
fn what_the_app_wrote_is_never_overwritten_and_none_turns_it_off() {
    let sandbox = Sandbox::new("termlog-app");
    for mode in BOTH {
        let log = sandbox.write("termination-log", "");
        let out = reaper(mode)
            .args(["--termination-log", &log])
            .args(sh(&format!("echo 'database unreachable' > {log}; exit 1")))
            .run();
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(sandbox.read("termination-log"), "database unreachable\n");
        assert_eq!(out.stderr, "", "the app's own message is no reason to warn");

        // `none`, the option, wins over the variable naming the file.
        let log = sandbox.write("termination-log", "");
        let out = reaper(mode)
            .env("REAPER_TERMINATION_LOG", &log)
            .args(["--termination-log", "none"])
            .args(sh("exit 5"))
            .run();
        assert_eq!(out.code, 5, "{out:?}");
        assert_eq!(sandbox.read("termination-log"), "");
        // The variable alone names it.
        let out = reaper(mode)
            .env("REAPER_TERMINATION_LOG", &log)
            .args(sh("exit 5"))
            .run();
        assert_eq!(out.code, 5, "{out:?}");
        assert_eq!(sandbox.read("termination-log"), "exited with status 5\n");
    }
}

#[test]
fn the_default_is_dev_termination_log_when_it_is_there() {
    let sandbox = Sandbox::new("termlog-default");
    let file = sandbox.write("mounted", "");
    // As Kubernetes does: a file of the host's mounted at /dev/termination-log (here on a
    // tmpfs over /dev, in the run's own mount namespace).
    let script = "mount -t tmpfs none /dev && : > /dev/termination-log \
                  && mount --bind \"$0\" /dev/termination-log && exec \"$@\"";
    for mode in BOTH {
        std::fs::write(&file, "").unwrap();
        let out = reaper(mode)
            .wrap(["sh", "-c", script, &file])
            .args(sh("kill -SEGV $$"))
            .run();
        assert_eq!(out.code, 139, "{out:?}");
        assert_eq!(sandbox.read("mounted"), "killed by SIGSEGV\n", "{mode:?}");
        assert_eq!(out.stderr, "", "{mode:?}");
        std::fs::write(&file, "").unwrap();
        let out = reaper(mode)
            .wrap(["sh", "-c", script, &file])
            .env("REAPER_TERMINATION_LOG", "none")
            .args(sh("exit 3"))
            .run();
        assert_eq!(out.code, 3, "{out:?}");
        assert_eq!(
            sandbox.read("mounted"),
            "",
            "REAPER_TERMINATION_LOG=none, {mode:?}"
        );
        // Not there (the machine's /dev): nothing is said, nothing is made.
        let out = reaper(mode).arg("-v").args(sh("exit 7")).run();
        assert_eq!(out.code, 7, "{out:?}");
        assert!(!out.stderr.contains("termination"), "{out:?}");
        assert!(!std::path::Path::new("/dev/termination-log").exists());
    }
}

#[test]
fn a_file_that_cannot_take_the_message_changes_no_status() {
    let sandbox = Sandbox::new("termlog-hardened");
    let fifo = sandbox.path("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    let fifo = fifo.to_string_lossy().into_owned();
    let missing = sandbox.file("missing");
    let read_only = sandbox.write("read-only", "");
    // A read-only bind mount of the file, as a read-only root file system would give it.
    let ro = "mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"";
    for mode in BOTH {
        let cases: [(&str, &str); 3] = [
            (&missing, "missing"),
            (&fifo, "not a regular file"),
            (&sandbox.file(""), "not a regular file"),
        ];
        for (path, said) in cases {
            let out = reaper(mode)
                .args(["--termination-log", path])
                .args(sh("exit 3"))
                .run();
            assert_eq!(out.code, 3, "{path}: {out:?}");
            assert_eq!(
                out.stderr,
                format!("reaper: warning: termination message not written to {path}: {said}\n"),
                "{mode:?}"
            );
        }
        assert!(!std::path::Path::new(&missing).exists(), "never created");
        let out = reaper(mode)
            .wrap(["sh", "-c", ro, &read_only])
            .args(["--termination-log", &read_only])
            .args(sh("exit 3"))
            .run();
        assert_eq!(out.code, 3, "{out:?}");
        assert_eq!(
            out.stderr,
            format!(
                "reaper: warning: termination message not written to {read_only}: Read-only file system\n"
            ),
            "{mode:?}"
        );
        assert_eq!(sandbox.read("read-only"), "");
    }
}
