//! Landlock (issue 25): the app confined to where it may write, what it may execute, which
//! ports it may bind and connect to, and whom it may signal; reaper itself never confined;
//! a restriction that cannot be applied stops reaper (status 2) unless
//! `--sandbox-best-effort`. The kernel here serves Landlock ABI 7: every option applies.

use std::os::linux::net::SocketAddrExt;
use std::time::Duration;

use crate::harness::{BOTH, Sandbox, reaper, sh, testkit_str};

/// A TCP port free on 127.0.0.1 right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

#[test]
fn write_allow_lets_the_app_write_beneath_its_paths_and_nowhere_else() {
    for mode in BOTH {
        let sandbox = Sandbox::new("write-allow");
        std::fs::create_dir(sandbox.path("data")).expect("mkdir data");
        let script = "echo a > data/f && echo wrote-inside
            if echo b > outside; then echo wrote-outside; fi
            if echo c > /dev/null; then echo dev-ok; fi";
        let out = reaper(mode)
            .args(["--write-allow", &sandbox.file("data")])
            .current_dir(&sandbox.dir)
            .args(sh(script))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(out.stdout.contains("wrote-inside"), "{mode:?}: {out:?}");
        assert!(out.stdout.contains("dev-ok"), "{mode:?}: {out:?}");
        assert!(!out.stdout.contains("wrote-outside"), "{mode:?}: {out:?}");
        assert!(
            out.stderr.contains("Permission denied"),
            "{mode:?}: {out:?}"
        );
        assert!(!sandbox.path("outside").exists(), "{mode:?}");
        assert_eq!(sandbox.read("data/f"), "a\n");

        // --write-no-dev: not even /dev/null.
        let out = reaper(mode)
            .args(["--write-allow", &sandbox.file("data"), "--write-no-dev"])
            .args(sh("if echo c > /dev/null; then echo dev-ok; fi; echo done"))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(out.stdout.contains("done"), "{mode:?}: {out:?}");
        assert!(!out.stdout.contains("dev-ok"), "{mode:?}: {out:?}");
    }
}

/// Where the host's shell and its loader live: a dynamically linked program needs its
/// loader executable too.
fn system_dirs() -> Vec<String> {
    ["/usr", "/bin", "/sbin", "/lib", "/lib64"]
        .into_iter()
        .filter(|d| std::path::Path::new(d).exists())
        .flat_map(|d| ["--exec-allow".to_string(), d.to_string()])
        .collect()
}

#[test]
fn exec_allow_lets_the_app_execute_only_beneath_its_paths() {
    for mode in BOTH {
        let sandbox = Sandbox::new("exec-allow");
        let copy = sandbox.path("mytrue");
        std::fs::copy("/bin/true", &copy).expect("copy /bin/true");
        let out = reaper(mode)
            .args(system_dirs())
            .current_dir(&sandbox.dir)
            .args(sh("/bin/true && echo system-ok; ./mytrue; echo copy=$?"))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(out.stdout.contains("system-ok"), "{mode:?}: {out:?}");
        assert!(out.stdout.contains("copy=126"), "{mode:?}: {out:?}");
        assert!(
            out.stderr.contains("Permission denied"),
            "{mode:?}: {out:?}"
        );

        // The command itself is checked before anything starts.
        let out = reaper(mode)
            .args(["--exec-allow", "/usr"])
            .current_dir(&sandbox.dir)
            .arg("./mytrue")
            .run();
        assert_eq!(out.code, 2, "{mode:?}: {out:?}");
        assert!(
            out.stderr.contains("--exec-allow: './mytrue' (")
                && out.stderr.contains("is not beneath a path it allows"),
            "{mode:?}: {out:?}"
        );
    }
}

#[test]
fn tcp_ports_not_allowed_cannot_be_bound_or_connected_to() {
    let tk = testkit_str();
    for mode in BOTH {
        let (allowed, other) = (free_port(), free_port());
        let script = format!(
            "'{tk}' tcp bind {allowed}; '{tk}' tcp bind {other}; \
             '{tk}' tcp connect {allowed}; '{tk}' tcp connect {other}; true"
        );
        let out = reaper(mode)
            .args(["--bind-tcp-allow", &allowed.to_string()])
            .args(["--connect-tcp-allow", &allowed.to_string()])
            .args(sh(&script))
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let line = |what: &str| {
            out.stdout
                .lines()
                .find(|l| l.starts_with(what))
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            line(&format!("tcp bind {allowed}:")).ends_with(": ok"),
            "{mode:?}: {out:?}"
        );
        assert!(
            line(&format!("tcp bind {other}:")).contains("Permission denied"),
            "{mode:?}: {out:?}"
        );
        // Allowed, and nobody listens: the kernel's own answer, not Landlock's.
        assert!(
            line(&format!("tcp connect {allowed}:")).contains("Connection refused"),
            "{mode:?}: {out:?}"
        );
        assert!(
            line(&format!("tcp connect {other}:")).contains("Permission denied"),
            "{mode:?}: {out:?}"
        );
    }
}

#[test]
fn a_scoped_app_cannot_signal_reaper_or_its_parent_yet_reapers_signals_reach_it() {
    for mode in BOTH {
        let sandbox = Sandbox::new("scope-signals");
        let script = "trap 'echo got-term; exit 7' TERM
            if kill -0 $PPID; then echo reached-reaper; fi
            if kill -0 1; then echo reached-pid1; fi
            echo up > ready
            while :; do sleep 0.05; done";
        let mut run = reaper(mode)
            .arg("--scope-signals")
            .current_dir(&sandbox.dir)
            .args(sh(script))
            .timeout(Duration::from_secs(30))
            .start();
        run.wait_for_file(&sandbox.path("ready"), "up");
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 7, "{mode:?}: {out:?}");
        assert!(out.stdout.contains("got-term"), "{mode:?}: {out:?}");
        assert!(!out.stdout.contains("reached-"), "{mode:?}: {out:?}");
        assert!(
            out.stderr.matches("Operation not permitted").count() >= 2,
            "{mode:?}: {out:?}"
        );
    }
}

#[test]
fn a_scoped_app_cannot_reach_an_abstract_socket_made_outside() {
    let tk = testkit_str();
    for mode in BOTH {
        let name = format!("reaper-test-{}-{mode:?}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
            .expect("abstract address");
        let _listener =
            std::os::unix::net::UnixListener::bind_addr(&addr).expect("bind abstract socket");
        let connect = format!("'{tk}' abstract-connect {name}");
        let open = reaper(mode).args(sh(&connect)).run();
        assert_eq!(open.code, 0, "{mode:?}: without the scope: {open:?}");
        let out = reaper(mode)
            .arg("--scope-abstract-unix")
            .args(sh(&connect))
            .run();
        assert_eq!(out.code, 1, "{mode:?}: {out:?}");
        assert!(
            out.stdout.contains("Operation not permitted"),
            "{mode:?}: {out:?}"
        );
    }
}

/// Under a seccomp profile that answers `errno` for `syscalls`, reaper with `options`
/// refuses to start the app (status 2, `refusal` said); with `--sandbox-best-effort` too,
/// the app runs and `warning` is said.
fn refused_then_best_effort(
    errno: &str,
    syscalls: &str,
    options: &[&str],
    refusal: &str,
    warning: &str,
) {
    let profile = [
        testkit_str(),
        "seccomp".into(),
        errno.into(),
        syscalls.into(),
    ];
    for mode in BOTH {
        let sandbox = Sandbox::new("refused");
        for best_effort in [false, true] {
            let out = reaper(mode)
                .wrap(profile.clone())
                .args(options)
                .args(best_effort.then_some("--sandbox-best-effort"))
                .current_dir(&sandbox.dir)
                .args(sh("echo ran > ran"))
                .run();
            if best_effort {
                assert_eq!(out.code, 0, "{mode:?}: {out:?}");
                assert!(out.stderr.contains(warning), "{mode:?}: {out:?}");
                assert_eq!(sandbox.read("ran"), "ran\n");
            } else {
                assert_eq!(out.code, 2, "{mode:?}: {out:?}");
                assert!(out.stderr.contains(refusal), "{mode:?}: {out:?}");
                assert_eq!(out.stderr.lines().count(), 1, "{mode:?}: {out:?}");
                assert!(!sandbox.path("ran").exists(), "{mode:?}: the app ran");
            }
        }
    }
}

#[test]
fn without_landlock_reaper_refuses_to_start_the_app_unless_best_effort() {
    refused_then_best_effort(
        "ENOSYS",
        "landlock_create_ruleset,landlock_add_rule,landlock_restrict_self",
        &["--write-allow", "/tmp"],
        "--write-allow: cannot confine the app: this kernel has no Landlock",
        "left out (--sandbox-best-effort)",
    );
}

#[test]
fn a_refused_restrict_self_stops_the_app_unless_best_effort() {
    refused_then_best_effort(
        "EPERM",
        "landlock_restrict_self",
        &["--scope-signals"],
        "cannot confine it with Landlock (landlock_restrict_self)",
        "it runs unconfined",
    );
}

#[test]
fn a_path_that_cannot_be_opened_is_a_usage_error() {
    for mode in BOTH {
        let out = reaper(mode)
            .args(["--write-allow", "/nonexistent/dir", "true"])
            .run();
        assert_eq!(out.code, 2, "{mode:?}: {out:?}");
        assert!(
            out.stderr
                .contains("--write-allow: '/nonexistent/dir': No such file or directory"),
            "{mode:?}: {out:?}"
        );
    }
}

#[test]
fn landlock_options_mean_nothing_with_pause() {
    let out = reaper(crate::harness::As::Pid1)
        .args(["--pause", "--scope-signals"])
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("option '--scope-signals' concerns the command, and --pause runs none"),
        "{out:?}"
    );
}

/// A relative command is run from `--workdir`, which the child enters before exec: it is
/// checked against `--exec-allow` there, not in reaper's own directory (where a file of
/// the same name outside the allowed paths made the start refuse what exec would run).
#[test]
fn a_relative_command_is_checked_where_workdir_puts_it() {
    for mode in BOTH {
        let sandbox = Sandbox::new("exec-allow-workdir");
        let (srv, other) = (sandbox.path("srv"), sandbox.path("other"));
        for dir in [&srv, &other] {
            std::fs::create_dir(dir).unwrap();
            std::fs::copy("/bin/true", dir.join("app")).expect("copy /bin/true");
        }
        let run = |explain: bool| {
            reaper(mode)
                .args(explain.then_some("--explain"))
                .args(system_dirs())
                .arg("--exec-allow")
                .arg(&srv)
                .arg("--workdir")
                .arg(&srv)
                .current_dir(&other)
                .arg("./app")
                .run()
        };
        let out = run(false);
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let out = run(true);
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        let program = crate::explain::value(&out, "program");
        assert_eq!(program, format!("{}/./app", srv.display()), "{mode:?}");
    }
}

/// exec passes over a file on PATH it may not execute and runs the next one; the check of
/// `--exec-allow` must pass over it too, not refuse the start because of it.
#[test]
fn the_command_is_checked_as_exec_finds_it_on_path() {
    use std::os::unix::fs::PermissionsExt;
    for mode in BOTH {
        let sandbox = Sandbox::new("exec-allow-path");
        let (first, second) = (sandbox.path("first"), sandbox.path("second"));
        for (dir, mode_bits) in [(&first, 0o644), (&second, 0o755)] {
            std::fs::create_dir(dir).expect("mkdir");
            let app = dir.join("app");
            std::fs::copy("/bin/true", &app).expect("copy /bin/true");
            std::fs::set_permissions(&app, std::fs::Permissions::from_mode(mode_bits))
                .expect("chmod");
        }
        let path = format!(
            "{}:{}:{}",
            first.display(),
            second.display(),
            crate::harness::PATH
        );
        let out = reaper(mode)
            .env("PATH", &path)
            .args(system_dirs())
            .arg("--exec-allow")
            .arg(&second)
            .arg("app")
            .run();
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
    }
}
