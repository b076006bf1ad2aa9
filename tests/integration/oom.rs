//! Out-of-memory kills (`--on-oom`): reaper runs in a memory cgroup of the test's own with a
//! small limit (cgroup v1's memory hierarchy where the host has one, as this project's
//! machine does, else v2), `testkit eat-memory` takes memory until the kernel's
//! out-of-memory killer ends it, and reaper must name it, and with `--on-oom exit` end the
//! container with 137. Each test says which cgroup version ran, and removes its cgroup
//! whatever happens (`MemoryCgroup`'s drop).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::{As, BOTH, Outcome, Run, Sandbox, cannot_run, reaper, sh, testkit_str};

/// The limit: far above what reaper and a shell need, and reached by the workload in a
/// moment. (qemu-user, under which release/test-foreign runs reaper, needs tens of MiB.)
const LIMIT: u64 = 96 << 20;

/// A memory cgroup of one test's own, removed when dropped: what is left in it is killed
/// (by pid, from its cgroup.procs: nothing but the test's own run can be there) and the
/// directory removed, polling with a deadline.
struct MemoryCgroup {
    dir: PathBuf,
    version: u8,
}

impl MemoryCgroup {
    /// Makes one, or says why it cannot (`None`: the test then fails, see `cannot_run`).
    fn new(name: &str) -> Option<MemoryCgroup> {
        let name = format!("reaper-test-{}-{name}", std::process::id());
        let (root, version) = if Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
            (Path::new("/sys/fs/cgroup/memory"), 1)
        } else {
            let controllers = std::fs::read_to_string("/sys/fs/cgroup/cgroup.subtree_control")
                .unwrap_or_default();
            if !controllers.split_whitespace().any(|c| c == "memory") {
                cannot_run("no memory cgroup controller (v1 or v2) at /sys/fs/cgroup");
                return None;
            }
            (Path::new("/sys/fs/cgroup"), 2)
        };
        let dir = root.join(name);
        if let Err(e) = std::fs::create_dir(&dir) {
            cannot_run(&format!("cannot make {}: {e} (needs root)", dir.display()));
            return None;
        }
        let cgroup = MemoryCgroup { dir, version };
        let limits: &[(&str, u64)] = match version {
            1 => &[("memory.limit_in_bytes", LIMIT)],
            _ => &[("memory.max", LIMIT), ("memory.swap.max", 0)],
        };
        for (file, value) in limits {
            let path = cgroup.dir.join(file);
            // No swap controller (v2 without it, v1 without swap accounting) is no swap.
            if path.exists() || *file != "memory.swap.max" {
                std::fs::write(&path, value.to_string())
                    .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            }
        }
        eprintln!(
            "memory cgroup v{version}: {} (limit {} MiB)",
            cgroup.dir.display(),
            LIMIT >> 20
        );
        Some(cgroup)
    }

    /// reaper run from within the cgroup: the wrapper moves itself there, then becomes
    /// reaper (as PID 1, or under testkit pid1 as a subreaper).
    fn reaper(&self, mode: As) -> Run {
        let script = format!(
            "echo 0 > {}/cgroup.procs && exec \"$@\"",
            self.dir.display()
        );
        reaper(mode).wrap(["sh", "-c", &script, "sh"])
    }

    /// The file whose `oom_kill` line counts the kills.
    fn count_file(&self) -> PathBuf {
        self.dir.join(match self.version {
            1 => "memory.oom_control",
            _ => "memory.events",
        })
    }

    fn kills(&self) -> u64 {
        std::fs::read_to_string(self.count_file())
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("oom_kill ")?.trim().parse().ok())
            .unwrap_or(0)
    }

    fn procs(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }
}

impl Drop for MemoryCgroup {
    fn drop(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            for pid in self.procs() {
                // SAFETY: kill has no memory-safety preconditions; the pid is in this
                // test's own cgroup.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            if Instant::now() >= deadline {
                // Not a panic in a drop (it may run while a failed test unwinds): said.
                eprintln!("could not remove {}", self.dir.display());
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The line reaper gives for process `pid` (any, when `None`) named testkit.
fn named(out: &Outcome, pid: Option<&str>) -> bool {
    out.stderr.lines().any(|l| {
        l.strip_prefix("reaper: warning: process ")
            .and_then(|l| l.strip_suffix(" (testkit) was killed by the out-of-memory killer"))
            .is_some_and(|n| pid.is_none_or(|p| p == n) && n.parse::<u32>().is_ok())
    })
}

#[test]
fn the_app_killed_by_the_oom_killer_is_named_exits_137_and_says_why() {
    let Some(cgroup) = MemoryCgroup::new("app") else {
        return;
    };
    let sandbox = Sandbox::new("oom-app");
    for mode in BOTH {
        let log = sandbox.write("termination-log", "");
        let before = cgroup.kills();
        let out = cgroup
            .reaper(mode)
            .args([
                "--termination-log",
                &log,
                "--",
                &testkit_str(),
                "eat-memory",
            ])
            .run();
        let v = cgroup.version;
        assert_eq!(out.code, 137, "cgroup v{v}, {mode:?}: {out:?}");
        assert!(
            cgroup.kills() > before,
            "cgroup v{v}: the killer did it: {out:?}"
        );
        assert!(named(&out, None), "cgroup v{v}, {mode:?}: {out:?}");
        assert_eq!(
            sandbox.read("termination-log"),
            "killed by the out-of-memory killer\n",
            "cgroup v{v}, {mode:?}"
        );
    }
}

/// An app that leaves `testkit eat-memory` as an orphan (reaper's to reap) and waits until
/// the cgroup counts a kill and nothing is left to reap, then runs `then`.
fn orphan_eats(cgroup: &MemoryCgroup, sandbox: &Sandbox, then: &str) -> [String; 3] {
    let pid_file = sandbox.file("worker.pid");
    let start = sandbox.file("start");
    sh(&format!(
        "sh -c '{tk} eat-memory {start} & echo $! > {pid_file}'; : > {start}; \
         i=0; until grep -qx 'oom_kill [1-9][0-9]*' {count}; do \
           i=$((i+1)); [ $i -lt 1000 ] || exit 99; sleep 0.02; done; \
         while kill -0 $(cat {pid_file}) 2>/dev/null; do \
           i=$((i+1)); [ $i -lt 2000 ] || exit 98; sleep 0.01; done; {then}",
        tk = testkit_str(),
        count = cgroup.count_file().display(),
    ))
}

#[test]
fn a_worker_killed_by_the_oom_killer_is_named_and_by_default_the_app_goes_on() {
    let Some(cgroup) = MemoryCgroup::new("worker") else {
        return;
    };
    for mode in BOTH {
        let sandbox = Sandbox::new("oom-worker");
        let app = orphan_eats(&cgroup, &sandbox, "exit 3");
        let out = cgroup.reaper(mode).args(&app).run();
        let v = cgroup.version;
        assert_eq!(
            out.code, 3,
            "cgroup v{v}, {mode:?}: the app went on: {out:?}"
        );
        let worker = sandbox.read("worker.pid");
        // reaper reaped the worker (a zombie answers kill -0): it named it then.
        assert!(
            named(&out, Some(worker.trim())),
            "cgroup v{v}, {mode:?}: {out:?}"
        );
    }
}

#[test]
fn with_on_oom_exit_a_worker_killed_ends_the_container_with_137() {
    let Some(cgroup) = MemoryCgroup::new("exit") else {
        return;
    };
    for mode in BOTH {
        let sandbox = Sandbox::new("oom-exit");
        let log = sandbox.write("termination-log", "");
        let pid_file = sandbox.file("worker.pid");
        let caught = sandbox.file("caught");
        // The app catches SIGTERM (testkit catch) before the worker starts eating.
        let app = sh(&format!(
            "sh -c '{tk} eat-memory {caught} & echo $! > {pid_file}'; exec {tk} catch {caught} 15",
            tk = testkit_str(),
        ));
        let out = cgroup
            .reaper(mode)
            .args(["--on-oom", "exit", "--termination-log", &log, "--"])
            .args(&app)
            .run();
        let v = cgroup.version;
        assert_eq!(out.code, 137, "cgroup v{v}, {mode:?}: {out:?}");
        let worker = sandbox.read("worker.pid");
        let worker = worker.trim();
        assert!(named(&out, Some(worker)), "cgroup v{v}, {mode:?}: {out:?}");
        assert!(
            out.stderr
                .contains("reaper: warning: --on-oom exit: ending the container (status 137)\n"),
            "{out:?}"
        );
        let caught = sandbox.read("caught");
        assert!(
            caught.contains("main 15\n"),
            "cgroup v{v}, {mode:?}: the app got SIGTERM from the teardown: {caught:?} {out:?}"
        );
        assert_eq!(
            sandbox.read("termination-log"),
            format!("process {worker} (testkit) was killed by the out-of-memory killer\n")
        );
    }
}

#[test]
fn a_sigkill_that_is_not_the_oom_killers_is_not_named_and_ends_nothing() {
    let Some(cgroup) = MemoryCgroup::new("kill") else {
        return;
    };
    for mode in BOTH {
        let sandbox = Sandbox::new("oom-kill");
        let pid_file = sandbox.file("orphan.pid");
        // An orphan SIGKILLed by the app, reaped by reaper (a zombie answers kill -0).
        let app = sh(&format!(
            "sh -c 'sleep 100 & echo $! > {pid_file}'; kill -9 $(cat {pid_file}); \
             i=0; while kill -0 $(cat {pid_file}) 2>/dev/null; do \
               i=$((i+1)); [ $i -lt 2000 ] || exit 98; sleep 0.01; done; exit 3"
        ));
        let out = cgroup
            .reaper(mode)
            .args(["-vv", "--on-oom", "exit", "--"])
            .args(&app)
            .run();
        let v = cgroup.version;
        assert_eq!(out.code, 3, "cgroup v{v}, {mode:?}: {out:?}");
        assert!(
            out.stderr
                .contains("reaper: debug: out-of-memory kills: counted in "),
            "the count was read: {out:?}"
        );
        assert!(
            !out.stderr.contains("killed by the out-of-memory"),
            "{out:?}"
        );
        // The app itself, SIGKILLed by a kill of its own.
        let log = sandbox.write("termination-log", "");
        let out = cgroup
            .reaper(mode)
            .args(["--on-oom", "exit", "--termination-log", &log, "--"])
            .args(sh("kill -9 $$"))
            .run();
        assert_eq!(out.code, 137, "{out:?}");
        assert_eq!(out.stderr, "", "{mode:?}");
        assert_eq!(sandbox.read("termination-log"), "killed by SIGKILL\n");
    }
}

#[test]
fn a_cgroup_that_cannot_be_read_is_said_once_at_debug_level() {
    // /sys/fs/cgroup hidden under an empty tmpfs, in the run's own mount namespace.
    let hide = "mount -t tmpfs none /sys/fs/cgroup && exec \"$@\"";
    for mode in BOTH {
        let out = reaper(mode)
            .wrap(["sh", "-c", hide, "sh"])
            .arg("-vv")
            .args(sh("sh -c 'sleep 100 & kill -9 $!; wait'; kill -9 $$"))
            .run();
        assert_eq!(out.code, 137, "{out:?}");
        let said: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("out-of-memory kills will not be named"))
            .collect();
        assert_eq!(said.len(), 1, "{mode:?}: {out:?}");
        assert!(
            said[0].starts_with("reaper: debug: cannot read /sys/fs/cgroup/"),
            "{said:?}"
        );
        // By default, nothing at all is said.
        let out = reaper(mode)
            .wrap(["sh", "-c", hide, "sh"])
            .args(sh("exit 4"))
            .run();
        assert_eq!((out.code, out.stderr.as_str()), (4, ""), "{mode:?}");
        // With --on-oom exit, a warning: what was asked for cannot be done.
        let out = reaper(mode)
            .wrap(["sh", "-c", hide, "sh"])
            .args(["--on-oom", "exit", "sh", "-c", "exit 4"])
            .run();
        assert_eq!(out.code, 4, "{out:?}");
        assert!(
            out.stderr
                .starts_with("reaper: warning: --on-oom exit: cannot read /sys/fs/cgroup/")
                && out
                    .stderr
                    .ends_with(": out-of-memory kills will not be seen\n"),
            "{out:?}"
        );
    }
}
