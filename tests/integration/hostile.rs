//! Hostile conditions: bad input, resource faults, storms, races and applications that
//! misbehave. In each, reaper must neither panic nor hang, and the main child's status
//! must come through exactly.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config as ProptestConfig, RngSeed, TestRunner};

use crate::harness::{
    As, BOTH, Sandbox, asleep_in_sigtimedwait, nofile_4, reaper, sh, status_field, testkit_str,
};

// ---------------------------------------------------------------------------------------
// Bad input

const FLAGS: &[&str] = &[
    "-c",
    "--single-child",
    "-g",
    "-s",
    "--subreaper",
    "-w",
    "--warn-on-reap",
    "-v",
    "-vv",
    "-vvvv",
    "--verbose",
    "-cgsw",
    "-P",
    "--pause",
    "--",
    "-",
    "",
    "--bogus",
    "-x",
    "-vq",
    "--pause=1",
    "--single-child=yes",
    "-h",
    "--help",
    "-V",
    "--version",
];
const WITH_VALUE: &[&str] = &[
    "-p",
    "--pdeath-signal",
    "-e",
    "--remap-exit",
    "-r",
    "--rewrite",
    "-t",
    "--grace-period",
];
const VALUES: &[&str] = &[
    "0",
    "1",
    "5",
    "15",
    "64",
    "65",
    "255",
    "256",
    "-1",
    "-5",
    "+3",
    "99999999999999999999",
    "18446744073709551615",
    "1e9",
    "0.5",
    ".",
    "",
    "NaN",
    "inf",
    "5ms",
    "2m",
    "1h",
    "3x",
    " 5",
    "TERM",
    "SIGKILL",
    "sigusr1",
    "RTMIN+3",
    "RTMAX-1",
    "RTMIN+40",
    "SIGFOO",
    "CHLD",
    "STOP",
    "TERM:INT",
    "15:0",
    "KILL:TERM",
    "CHLD:1",
    "TERM:",
    "::",
    ":15",
    "USR1:RTMAX",
    "TERM:99",
    "1m30s",
    "1h2m3.5s",
    "1m30",
    // Control characters: every message must stay one line, whatever it echoes.
    "5\nreaper: exiting with status 0",
    "TERM\n",
    "\t",
    "1m\r",
    "\x1b[2J",
];

/// A word of a random command line: one time in ten arbitrary bytes (no NUL, which no
/// argv word can hold) led by one that is not ASCII, so that they never spell a real
/// command's name; four in ten a flag; the rest an option with a value, glued to it
/// (`-t5`, `--grace-period=5`) or as the option alone.
fn word() -> impl Strategy<Value = OsString> {
    let bytes = (0x80u8..=0xff, vec(1u8..=0xff, 0..6))
        .prop_map(|(lead, rest)| OsString::from_vec(std::iter::once(lead).chain(rest).collect()));
    let valued =
        (select(WITH_VALUE), select(VALUES), 0..3u8).prop_map(|(opt, value, how)| match how {
            0 if opt.starts_with("--") => format!("{opt}={value}").into(),
            0 => format!("{opt}{value}").into(),
            _ => OsString::from(opt),
        });
    prop_oneof![
        1 => bytes,
        4 => select(FLAGS).prop_map(OsString::from),
        5 => valued,
    ]
}

/// Whether a usage error names one of the words it was given: some quoted fragment of
/// the message is in an argument (or is `-c` for a `c` inside a cluster of short options).
fn names_a_word(message: &str, args: &[OsString]) -> bool {
    // Words are echoed with control characters escaped (`\n`, `\x1b`, ...), and bytes
    // that are not UTF-8 as `\xff`.
    let escaped = |a: &OsString| -> String {
        let mut text = String::new();
        for chunk in a.as_bytes().utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '\n' => text.push_str("\\n"),
                    '\r' => text.push_str("\\r"),
                    '\t' => text.push_str("\\t"),
                    c if c.is_control() => text.push_str(&format!("\\x{:02x}", u32::from(c))),
                    c => text.push(c),
                }
            }
            for b in chunk.invalid() {
                text.push_str(&format!("\\x{b:02x}"));
            }
        }
        text
    };
    let args: Vec<String> = args.iter().map(escaped).collect();
    message.split('\'').skip(1).step_by(2).any(|quoted| {
        args.iter().any(|a| {
            a.contains(quoted)
                || (quoted.len() == 2
                    && quoted.starts_with('-')
                    && a.starts_with('-')
                    && a.contains(&quoted[1..]))
        })
    }) || message.starts_with("no command given")
}

/// proptest's settings for a property whose every case starts a PID namespace: `cases`
/// of them, from a fixed seed, so that a run in CI and one at a desk try the same command
/// lines and a failure seen in one shows in the other. `PROPTEST_CASES` and
/// `PROPTEST_RNG_SEED` still choose others (a seed of one's own explores new ones). No
/// failure file is written: the failure message names the smallest failing case, and a
/// case worth keeping belongs in a table test. Shrinking is bounded, as each step runs
/// reaper again (a hang costs the run's whole timeout).
fn proptest_config(cases: u32) -> ProptestConfig {
    let env = ProptestConfig::default();
    let given = |var: &str| std::env::var_os(var).is_some();
    ProptestConfig {
        cases: if given("PROPTEST_CASES") {
            env.cases
        } else {
            cases
        },
        rng_seed: if given("PROPTEST_RNG_SEED") {
            env.rng_seed
        } else {
            RngSeed::Fixed(FUZZ_SEED)
        },
        failure_persistence: None,
        max_shrink_iters: 200,
        max_shrink_time: 120_000,
        ..env
    }
}

/// The seed of the fuzz tests' command lines ("reaper" in ASCII).
const FUZZ_SEED: u64 = 0x7265_6170_6572;

/// Random command lines, each followed by a command that leaves a marker: reaper either
/// runs the command with its status, reports that it cannot run it, prints help or
/// version, or refuses with one line naming the bad word, exit 2 and nothing started.
/// Never a panic (an abort would show as 134) and never a hang. A failing command line
/// comes back shrunk to its fewest and simplest words.
#[test]
fn random_command_lines_never_panic_or_hang() {
    let config = proptest_config(1000);
    let seed = config.rng_seed;
    let mut runner = TestRunner::new(config);
    let sandbox = Sandbox::new("fuzz-argv");
    let marker = sandbox.path("ran");
    let tally = std::cell::Cell::new([0usize; 4]);
    let count = |i: usize| {
        let mut t = tally.get();
        t[i] += 1;
        tally.set(t);
    };
    let result = runner.run(&vec(word(), 0..6), |mut args| {
        let _ = std::fs::remove_file(&marker);
        let shown = format!("{args:?}");
        args.extend(["touch".into(), marker.clone().into_os_string()]);
        let out = reaper(As::Pid1)
            .args(&args)
            .timeout(Duration::from_secs(30))
            .run();
        let ran = marker.exists();
        let reaper_lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("reaper: "))
            .collect();
        match out.code {
            0 if ran => count(0),
            0 => {
                prop_assert!(
                    out.stdout.starts_with("reaper"),
                    "{shown}: exit 0, nothing ran, no help: {out:?}"
                );
                count(1);
            }
            2 => {
                prop_assert!(!ran, "{shown}: a usage error started the command");
                prop_assert_eq!(out.stderr.lines().count(), 1, "{}: {:?}", shown, out);
                let line = reaper_lines.first().copied().unwrap_or_default();
                prop_assert!(line.ends_with("(see 'reaper --help')"), "{shown}: {out:?}");
                prop_assert!(
                    names_a_word(line.trim_start_matches("reaper: "), &args),
                    "{shown}: {line}"
                );
                count(2);
            }
            126 | 127 => {
                prop_assert!(!ran, "{shown}: {out:?}");
                prop_assert!(
                    out.stderr.contains("reaper: cannot run '"),
                    "{shown}: {out:?}"
                );
                count(3);
            }
            other => prop_assert!(false, "{shown}: unexpected status {other}: {out:?}"),
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("seed {seed}: {e}");
    }
    let [ran, help, usage, cannot] = tally.get();
    eprintln!(
        "fuzz seed {seed}, {} cases: ran {ran}, help/version {help}, usage errors {usage}, cannot run {cannot}",
        runner.config().cases
    );
}

#[test]
fn bad_environment_values() {
    for bad in [
        "abc",
        "-1",
        "1e3",
        "5 s",
        "1.2.3",
        "1m30",
        "99999999999999999999999",
    ] {
        let out = reaper(As::Pid1)
            .env("REAPER_GRACE_PERIOD", bad)
            .args(sh("exit 0"))
            .run();
        assert_eq!(out.code, 2, "REAPER_GRACE_PERIOD={bad:?}: {out:?}");
        assert_eq!(
            out.stderr,
            format!(
                "reaper: invalid duration '{bad}' in REAPER_GRACE_PERIOD (see 'reaper --help')\n"
            )
        );
    }
    for bad in ["-1", "abc", "256", "1.5"] {
        let out = reaper(As::Pid1)
            .env("TINI_VERBOSITY", bad)
            .args(sh("exit 4"))
            .run();
        assert_eq!(out.code, 4, "TINI_VERBOSITY={bad:?}: {out:?}");
        assert_eq!(
            out.stderr,
            format!(
                "reaper: warning: ignoring TINI_VERBOSITY='{bad}': not a number from 0 to 255\n"
            )
        );
    }
    for bad in ["a=b=c", "x/y/z", "reaper=loud"] {
        let out = reaper(As::Pid1)
            .env("REAPER_LOG", bad)
            .args(sh("exit 4"))
            .run();
        assert_eq!(out.code, 4, "REAPER_LOG={bad:?}: {out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("reaper: warning: ignoring REAPER_LOG='{bad}'")),
            "{out:?}"
        );
        assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
    }
    // Empty is unset, for every variable (compose files write `VAR=` for "not set"): no
    // error, no warning, the defaults.
    for k in [
        "REAPER_GRACE_PERIOD",
        "REAPER_LOG",
        "TINI_VERBOSITY",
        "DUMB_INIT_DEBUG",
        "DUMB_INIT_SETSID",
    ] {
        let out = reaper(As::Pid1).env(k, "").args(sh("exit 4")).run();
        assert_eq!((out.code, out.stderr.as_str()), (4, ""), "{k}=: {out:?}");
    }
    // A newline in a value is echoed escaped: the message stays one line.
    let out = reaper(As::Pid1)
        .env("REAPER_GRACE_PERIOD", "5\nreaper: exiting with status 0")
        .args(sh("exit 0"))
        .run();
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "reaper: invalid duration '5\\nreaper: exiting with status 0' in REAPER_GRACE_PERIOD (see 'reaper --help')\n"
    );
    let non_utf8 = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    for (k, v) in [
        ("REAPER_LOG", non_utf8),
        ("DUMB_INIT_SETSID", non_utf8),
        ("DUMB_INIT_DEBUG", non_utf8),
    ] {
        let out = reaper(As::Pid1).env(k, v).args(sh("exit 4")).run();
        assert_eq!(out.code, 4, "{k}: {out:?}");
    }
}

use std::os::unix::ffi::OsStrExt;

// ---------------------------------------------------------------------------------------
// Resource faults

/// Fails unless skipping is asked for on purpose (harness::cannot_run).
fn require(ok: bool, why: &str) -> bool {
    if !ok {
        crate::harness::cannot_run(why);
    }
    ok
}

/// A pids cgroup (v1 or v2) of our own with a process limit, removed when dropped.
struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    fn new(name: &str, max: usize) -> Result<PidsCgroup, String> {
        let v1 = PathBuf::from("/sys/fs/cgroup/pids");
        let v2 = PathBuf::from("/sys/fs/cgroup");
        let parent = if v1.join("pids.max").exists() || v1.join("cgroup.procs").exists() {
            v1
        } else if std::fs::read_to_string(v2.join("cgroup.controllers"))
            .is_ok_and(|c| c.contains("pids"))
        {
            // The root may not delegate the controller yet.
            let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+pids");
            v2
        } else {
            return Err("no pids cgroup controller (v1 or v2) is mounted".into());
        };
        let dir = parent.join(format!("reaper-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir(&dir);
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let cg = PidsCgroup { dir };
        std::fs::write(cg.dir.join("pids.max"), max.to_string())
            .map_err(|e| format!("pids.max: {e}"))?;
        Ok(cg)
    }

    /// The path a process writes "0" to, to move itself in.
    fn procs(&self) -> std::ffi::CString {
        std::ffi::CString::new(self.dir.join("cgroup.procs").into_os_string().into_vec()).unwrap()
    }

    fn members(&self) -> String {
        std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default()
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
fn fork_failing_at_a_pids_limit_exits_1_and_leaves_nothing() {
    for mode in BOTH {
        // unshare, then reaper (and, as a subreaper, testkit pid1 between them): reaper
        // itself fits, its child does not.
        let max = if mode == As::Pid1 { 2 } else { 3 };
        let cg = match PidsCgroup::new(&format!("{mode:?}"), max) {
            Ok(cg) => cg,
            Err(why) => {
                if require(false, &why) {
                    unreachable!()
                }
                return;
            }
        };
        let procs = cg.procs();
        let out = reaper(mode)
            .pre_exec(move || {
                // SAFETY: open/write/close on a path prepared before fork.
                unsafe {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                }
                Ok(())
            })
            .args(sh("exit 0"))
            .run();
        assert_eq!(out.code, 1, "{mode:?}: {out:?}");
        assert!(
            out.stderr
                .contains("reaper: failed to fork: Resource temporarily unavailable"),
            "{mode:?}: {out:?}"
        );
        assert!(!out.stderr.contains("leftover"), "{out:?}");
        assert_eq!(cg.members(), "", "{mode:?}: processes left in the cgroup");
    }
}

/// Sets a resource limit of a running process (of reaper, under a test), as `prlimit`
/// does.
fn set_limit(pid: i32, resource: libc::__rlimit_resource_t, soft: u64, hard: u64) {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: prlimit with a live struct and no old-limit pointer.
    let r = unsafe { libc::prlimit(pid, resource, &limit, std::ptr::null_mut()) };
    assert_eq!(
        r,
        0,
        "prlimit({pid}, {resource}): {}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn at_the_lowest_descriptor_limit_reaper_still_runs_and_tears_down() {
    for mode in BOTH {
        // 0, 1 and 2 are open, and one more for the dynamic loader of the programs
        // between the test and reaper: reaper itself gets no free descriptor to spare.
        let out = reaper(mode).pre_exec(nofile_4).args(sh("exit 5")).run();
        assert_eq!(out.code, 5, "{mode:?}: {out:?}");

        // The limit lowered to 0 under a running reaper: the subreaper's teardown still
        // lists /proc through the descriptor it took at start, but can read no process in
        // it; it signals the app's process group, and says that it walked blind.
        let sandbox = Sandbox::new("nofile-zero");
        let script = "sh -c 'trap \"echo flushed > data; exit 0\" TERM; touch up; while :; do sleep 0.05; done' & \
                      while [ ! -e up ]; do sleep 0.01; done; while [ ! -e go ]; do sleep 0.01; done; exit 6";
        let mut run = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(sh(script))
            .start();
        run.poll("the daemon", || sandbox.path("up").exists().then_some(()));
        // Not before reaper has settled in (holding /proc open), which it does after the
        // spawn: on a loaded machine the daemon may be up first.
        let pid = run.reaper_pid;
        run.poll("reaper to wait for signals", || {
            asleep_in_sigtimedwait(pid).then_some(())
        });
        set_limit(pid, libc::RLIMIT_NOFILE, 0, 0);
        std::fs::write(sandbox.path("go"), "").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 6, "{mode:?}: {out:?}");
        assert_eq!(sandbox.read("data"), "flushed\n", "{mode:?}: {out:?}");
        if mode == As::Subreaper {
            assert!(
                out.stderr
                    .contains("warning: teardown: /proc shows reaper only part of the processes"),
                "{out:?}"
            );
        }
    }
}

/// Hides /proc (an empty tmpfs over it) from reaper and everything below it.
const NO_PROC: [&str; 4] = ["sh", "-c", "mount -t tmpfs none /proc && exec \"$@\"", "sh"];

#[test]
fn without_proc_pid1_still_tears_everything_down() {
    let sandbox = Sandbox::new("no-proc-pid1");
    // A daemon in a session of its own: only kill(-1) reaches it, which needs no /proc.
    let script = "setsid sh -c 'trap \"echo flushed > data; exit 0\" TERM; touch up; while :; do sleep 0.05; done' & \
                  while [ ! -e up ]; do sleep 0.01; done; [ ! -e /proc/self ] && exit 8";
    let out = reaper(As::Pid1)
        .wrap(NO_PROC)
        .arg("-v")
        .current_dir(&sandbox.dir)
        .args(sh(script))
        .run();
    assert_eq!(out.code, 8, "the app saw a /proc: {out:?}");
    assert_eq!(sandbox.read("data"), "flushed\n", "{out:?}");
    assert!(
        out.stderr
            .contains("everything exited within the grace period"),
        "{out:?}"
    );
}

#[test]
fn without_proc_a_subreaper_signals_the_app_group_and_still_ends() {
    let sandbox = Sandbox::new("no-proc-sub");
    // One daemon in the app's group, which the fallback reaches and which flushes; one in
    // a session of its own, which reaper cannot find without /proc and leaves behind
    // after the grace period, saying so.
    let script = "sh -c 'trap \"echo flushed > data; exit 0\" TERM; touch up1; while :; do sleep 0.05; done' & \
                  setsid sh -c 'trap \"\" TERM; touch up2; while :; do sleep 0.05; done' & \
                  while [ ! -e up1 ] || [ ! -e up2 ]; do sleep 0.01; done; exit 9";
    let out = reaper(As::Subreaper)
        .wrap(NO_PROC)
        .args(["-v", "-t", "0.5"])
        .current_dir(&sandbox.dir)
        .args(sh(script))
        .run();
    assert_eq!(out.code, 9, "{out:?}");
    assert_eq!(sandbox.read("data"), "flushed\n", "{out:?}");
    assert!(
        out.stderr.contains("cannot list descendants in /proc"),
        "{out:?}"
    );
    assert!(out.stderr.contains("processes still left"), "{out:?}");
    // The SIGKILL round repeats while it waits (a fork may have outrun the last one); it
    // says so once.
    let kill_lines = out.stderr.matches("sent SIGKILL to process group").count();
    assert_eq!(kill_lines, 1, "{out:?}");
    // Grace period, the bounded wait after SIGKILL (2 s), and slack for a loaded machine.
    assert!(out.elapsed < Duration::from_secs(10), "{out:?}");
}

// ---------------------------------------------------------------------------------------
// Storms

fn kib(field: Option<String>) -> u64 {
    field
        .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One PID 1 reaper reaps 1,000 orphans, then 100,000 more: its peak memory (VmHWM)
/// after both is the same, because the loop allocates nothing. Measured within one
/// process, so that start-up and the pages of the binary itself are the same in both.
#[test]
fn a_hundred_thousand_orphans_in_flat_memory() {
    let sandbox = Sandbox::new("orphan-memory");
    let tk = testkit_str();
    let script = format!(
        "'{tk}' orphans 1000 && '{tk}' zombies 120 > small; touch small-done; \
         while [ ! -e go ]; do sleep 0.01; done; \
         '{tk}' orphans 100000 && '{tk}' zombies 120 > large; touch large-done; exec sleep 1000"
    );
    let mut run = reaper(As::Pid1)
        .current_dir(&sandbox.dir)
        .args(sh(&script))
        .timeout(Duration::from_secs(600))
        .start();
    run.poll("1,000 orphans", || {
        sandbox.path("small-done").exists().then_some(())
    });
    let small = kib(status_field(run.reaper_pid, "VmHWM"));
    std::fs::write(sandbox.path("go"), "").unwrap();
    run.poll("100,000 more orphans", || {
        sandbox.path("large-done").exists().then_some(())
    });
    let large = kib(status_field(run.reaper_pid, "VmHWM"));
    run.signal(libc::SIGTERM);
    let out = run.wait();
    eprintln!("reaper VmHWM: {small} KiB after 1,000 orphans, {large} KiB after 100,000 more");
    assert_eq!(out.code, 143, "{out:?}");
    assert_eq!(
        sandbox.read("small"),
        "zombies 0\n",
        "zombies left after 1,000 orphans"
    );
    assert_eq!(
        sandbox.read("large"),
        "zombies 0\n",
        "zombies left after 100,000 orphans"
    );
    assert!(small > 0, "no VmHWM in /proc");
    assert!(
        large <= small + 8,
        "VmHWM grew from {small} KiB to {large} KiB"
    );
}

/// Sends signals to a process through a pidfd (so a recycled pid can never be hit) until
/// stopped or the process is gone, counting them; with `pause`, it rests a little every
/// 64 signals, else it sends as fast as it can.
fn flood(
    pid: i32,
    sigs: &'static [i32],
    pause: bool,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
) -> std::thread::JoinHandle<()> {
    // SAFETY: pidfd_open on a live pid of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    assert!(fd >= 0, "pidfd_open");
    std::thread::spawn(move || {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: a pidfd we own and a null siginfo.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd,
                    sigs[i % sigs.len()],
                    std::ptr::null::<u8>(),
                    0,
                )
            };
            if r != 0 {
                break; // reaper has exited
            }
            i += 1;
            sent.fetch_add(1, Ordering::Relaxed);
            if pause && i % 64 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        // SAFETY: closing our own descriptor.
        unsafe { libc::close(fd) };
    })
}

#[test]
fn a_signal_flood_during_an_orphan_storm_loses_no_status() {
    let tk = testkit_str();
    for mode in BOTH {
        let sandbox = Sandbox::new("flood");
        // Everything ignores the flooding signals (ignored dispositions are inherited), so
        // they are forwarded to a group that survives them. Orphans are made and reaped
        // without pause; after three seconds of flood the app exits in the middle of both.
        let script = format!(
            "trap '' USR1 USR2 WINCH 35; touch up; while :; do '{tk}' orphans 1000; done & \
             while [ ! -e flooding ]; do sleep 0.01; done; sleep 3; exit 7"
        );
        let mut run = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(sh(&script))
            .timeout(Duration::from_secs(300))
            .start();
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        // Not before the app ignores the signals: until then they would kill it.
        run.poll("the app", || sandbox.path("up").exists().then_some(()));
        let started = Instant::now();
        const SIGS: &[i32] = &[libc::SIGUSR1, libc::SIGUSR2, 35, libc::SIGWINCH];
        let flooder = flood(run.reaper_pid, SIGS, true, stop.clone(), sent.clone());
        run.poll("the flood to start", || {
            (sent.load(Ordering::Relaxed) > 1000).then_some(())
        });
        std::fs::write(sandbox.path("flooding"), "").unwrap();
        let mut peak = 0;
        let pid = run.reaper_pid;
        run.poll("reaper to exit", || {
            peak = peak.max(kib(status_field(pid, "VmHWM")));
            crate::harness::proc_stat(pid)
                .is_none_or(|s| s.state == 'Z')
                .then_some(())
        });
        stop.store(true, Ordering::Relaxed);
        let _ = flooder.join();
        let out = run.wait();
        let secs = started.elapsed().as_secs_f64();
        let n = sent.load(Ordering::Relaxed);
        eprintln!(
            "{mode:?}: {n} signals in {secs:.1} s ({:.0}/s); reaper VmHWM {peak} KiB",
            n as f64 / secs
        );
        assert_eq!(out.code, 7, "{mode:?}: {out:?}");
        assert!(!out.stderr.contains("leftover"), "{out:?}");
        assert!(
            n as f64 / secs > 1000.0,
            "the flood was too thin to mean anything"
        );
    }
}

/// The kernel hands out the lowest-numbered pending signal first: a flood of SIGUSR1 and
/// SIGUSR2 (10 and 12) faster than reaper can forward them keeps SIGCHLD (17) pending all
/// along. The app's exit must be seen anyway, within a bounded number of signals.
/// A native reaper is usually fast enough to find gaps in the flood even without that
/// bound (its logic is unit-tested in supervise.rs); the arm64 reaper under qemu is not,
/// and without the bound this test hangs there with thousands of zombies.
#[test]
fn a_flood_of_low_signals_does_not_starve_reaping() {
    for mode in BOTH {
        let sandbox = Sandbox::new("starve");
        // A large process group makes each forward slow (the kernel visits every member),
        // so that the flood outruns reaper even on a machine with few cores.
        let script = "trap '' USR1 USR2; i=0; while [ $i -lt 1000 ]; do sleep 1000 & i=$((i+1)); done; \
                      touch up; while [ ! -e flooding ]; do sleep 0.01; done; sleep 1; exit 7";
        let mut run = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(sh(script))
            .timeout(Duration::from_secs(60))
            .start();
        run.poll("the app", || sandbox.path("up").exists().then_some(()));
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        const LOW: &[i32] = &[libc::SIGUSR1, libc::SIGUSR2];
        let flooders: Vec<_> = (0..3)
            .map(|_| flood(run.reaper_pid, LOW, false, stop.clone(), sent.clone()))
            .collect();
        run.poll("the flood to start", || {
            (sent.load(Ordering::Relaxed) > 1000).then_some(())
        });
        std::fs::write(sandbox.path("flooding"), "").unwrap();
        let pid = run.reaper_pid;
        let deadline = Instant::now() + Duration::from_secs(20);
        let ended = loop {
            if crate::harness::proc_stat(pid).is_none_or(|s| s.state == 'Z') {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        stop.store(true, Ordering::Relaxed);
        flooders.into_iter().for_each(|f| drop(f.join()));
        let out = run.wait();
        assert!(
            ended,
            "{mode:?}: the app's exit went unseen under the flood: {out:?}"
        );
        assert_eq!(out.code, 7, "{mode:?}: {out:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Races

#[test]
fn the_main_child_exits_as_sigterm_arrives() {
    for mode in BOTH {
        let sandbox = Sandbox::new("exit-on-term");
        // The app and a member of its group both get the forwarded SIGTERM; the app exits
        // 5 at once, the member takes its time, while the teardown's own SIGTERM reaches it.
        let script = "sh -c 'trap \"sleep 0.2; exit 0\" TERM; touch up; while :; do sleep 0.01; done' & \
                      trap 'exit 5' TERM; while [ ! -e up ]; do sleep 0.01; done; touch ready; \
                      while :; do sleep 0.01; done";
        let mut run = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(sh(script))
            .start();
        run.poll("the app", || sandbox.path("ready").exists().then_some(()));
        run.signal(libc::SIGTERM);
        let out = run.wait();
        assert_eq!(out.code, 5, "{mode:?}: {out:?}");
        assert!(!out.stderr.contains("leftover"), "{out:?}");
    }
}

#[test]
fn a_fork_loop_is_ended_within_the_grace_period() {
    let tk = testkit_str();
    for mode in BOTH {
        let sandbox = Sandbox::new("fork-loop");
        // A process that ignores SIGTERM and changes its pid faster than /proc can be read.
        let script =
            format!("'{tk}' fork-loop up & while [ ! -e up ]; do sleep 0.01; done; exit 3");
        let out = reaper(mode)
            .args(["-v", "-t", "1"])
            .current_dir(&sandbox.dir)
            .args(sh(&script))
            .run();
        assert_eq!(out.code, 3, "{mode:?}: {out:?}");
        assert!(out.stderr.contains("teardown: sent SIGKILL"), "{out:?}");
        assert!(
            !out.stderr.contains("processes still left"),
            "{mode:?}: {out:?}"
        );
        assert!(!out.stderr.contains("leftover"), "{mode:?}: {out:?}");
        assert!(out.elapsed >= Duration::from_secs(1), "{out:?}");
        assert!(
            out.elapsed < Duration::from_secs(1 + 5),
            "{mode:?}: {out:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Applications that misbehave

#[test]
fn children_that_keep_the_apps_stdout_are_torn_down() {
    for mode in BOTH {
        // Without the teardown the harness would wait for the end of stdout forever.
        // A grace period far beyond the run's deadline: the teardown's SIGTERM must end
        // them, never the SIGKILL at its end (a loaded machine may take seconds either way).
        let out = reaper(mode)
            .args(["-v", "-t", "600"])
            .args(sh("sleep 1000 & sleep 1000 & echo bye; exit 3"))
            .run();
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (3, "bye\n"),
            "{mode:?}: {out:?}"
        );
        assert!(out.stderr.contains("sent SIGTERM"), "{mode:?}: {out:?}");
        assert!(!out.stderr.contains("SIGKILL"), "{mode:?}: {out:?}");
    }
}

#[test]
fn an_app_that_daemonises_with_setsid() {
    for mode in BOTH {
        let script =
            "setsid sh -c 'trap \"\" HUP; exec sleep 1000' < /dev/null > /dev/null 2>&1 & exit 4";
        // As above: the daemon must end on the teardown's SIGTERM, not its SIGKILL.
        let out = reaper(mode)
            .args(["-v", "-t", "600"])
            .args(sh(script))
            .run();
        assert_eq!(out.code, 4, "{mode:?}: {out:?}");
        assert!(!out.stderr.contains("leftover"), "{out:?}");
        assert!(out.stderr.contains("sent SIGTERM"), "{mode:?}: {out:?}");
        assert!(!out.stderr.contains("SIGKILL"), "{mode:?}: {out:?}");
    }
}

/// Every signal a shell can ignore (not KILL and STOP; not 32 and 33, which glibc keeps).
fn ignore_all() -> String {
    let sigs: Vec<String> = (1..=64)
        .filter(|&s| ![9, 19, 32, 33].contains(&s))
        .map(|s| s.to_string())
        .collect();
    format!("trap '' {}", sigs.join(" "))
}

#[test]
fn an_app_that_ignores_every_signal_it_can() {
    for mode in BOTH {
        let sandbox = Sandbox::new("ignore-all");
        let script = format!(
            "{}; touch up; while [ ! -e stop ]; do sleep 0.01; done; exit 9",
            ignore_all()
        );
        let mut run = reaper(mode)
            .current_dir(&sandbox.dir)
            .args(sh(&script))
            .start();
        run.poll("the app", || sandbox.path("up").exists().then_some(()));
        for sig in [
            libc::SIGTERM,
            libc::SIGINT,
            libc::SIGHUP,
            libc::SIGQUIT,
            libc::SIGUSR1,
            40,
            64,
        ] {
            run.signal(sig);
        }
        // Had any of them ended the app, the status would be 128+N, not 9.
        std::fs::write(sandbox.path("stop"), "").unwrap();
        let out = run.wait();
        assert_eq!(out.code, 9, "{mode:?}: {out:?}");

        // Its leftovers ignore everything too: SIGKILL at the end of the grace period.
        let script = format!("{}; sleep 1000 & sleep 1000 & exit 6", ignore_all());
        let out = reaper(mode).args(["-t", "0.5"]).args(sh(&script)).run();
        assert_eq!(out.code, 6, "{mode:?}: {out:?}");
        assert!(out.elapsed >= Duration::from_millis(500), "{out:?}");
        assert!(out.elapsed < Duration::from_secs(5), "{mode:?}: {out:?}");
        assert!(!out.stderr.contains("leftover"), "{out:?}");
    }
}

#[test]
fn an_app_that_kills_its_own_process_group() {
    for mode in BOTH {
        for (opts, sig, code) in [
            (&[][..], "KILL", 137),
            (&[][..], "TERM", 143),
            (&["-c"][..], "KILL", 137),
        ] {
            let script = format!("sleep 1000 & kill -{sig} 0; sleep 1000");
            let out = reaper(mode).args(opts).args(sh(&script)).run();
            assert_eq!(out.code, code, "{mode:?} {opts:?} {sig}: {out:?}");
            assert!(out.elapsed < Duration::from_secs(5), "{out:?}");
        }
    }
}

/// reaper's own CPU time limit: the kernel sends reaper SIGXCPU (SI_KERNEL) once reaper has
/// used it up. That is reaper's trouble, not the app's: it is logged and not forwarded. A
/// SIGXCPU that someone sends with `kill` is still forwarded.
#[test]
fn sigxcpu_for_reapers_own_cpu_limit_is_not_forwarded() {
    let tk = testkit_str();
    for mode in BOTH {
        let sandbox = Sandbox::new("xcpu");
        let log = sandbox.file("signals");
        // The app logs every signal it gets, in the order it takes them. The flood that
        // uses up reaper's CPU time is dropped by reaper (`-r WINCH:0`), so the app never
        // sees it.
        let mut run = reaper(mode)
            .args(["-r", "WINCH:0"])
            .args([tk.as_str(), "catch", &log, "15"])
            .timeout(Duration::from_secs(120))
            .start();
        run.wait_for_file(&sandbox.path("signals"), "main ready");
        set_limit(run.reaper_pid, libc::RLIMIT_CPU, 1, libc::RLIM_INFINITY);
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let flooder = flood(
            run.reaper_pid,
            &[libc::SIGWINCH],
            false,
            stop.clone(),
            sent.clone(),
        );
        let pid = run.reaper_pid;
        // The kernel raises the soft limit by a second each time it sends SIGXCPU, so a
        // soft limit of 2 says that it has sent one.
        run.poll("the kernel to send reaper SIGXCPU", || {
            let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
            let line = limits.lines().find(|l| l.starts_with("Max cpu time"))?;
            let soft: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
            (soft >= 2).then_some(())
        });
        stop.store(true, Ordering::Relaxed);
        let _ = flooder.join();
        // A marker the app takes after any standard signal pending before it (real-time
        // signals come last): had reaper forwarded its own SIGXCPU, 24 would come first.
        run.signal(libc::SIGRTMIN() + 5);
        run.wait_for_file(
            &sandbox.path("signals"),
            &format!("main {}", libc::SIGRTMIN() + 5),
        );
        run.signal(libc::SIGXCPU);
        run.wait_for_file(&sandbox.path("signals"), "main 24");
        run.signal(libc::SIGTERM);
        let out = run.wait();
        let main: Vec<String> = sandbox
            .read("signals")
            .lines()
            .filter(|l| l.starts_with("main"))
            .map(String::from)
            .collect();
        let marker = format!("main {}", libc::SIGRTMIN() + 5);
        assert_eq!(
            main,
            ["main ready", &marker, "main 24", "main 15"],
            "{mode:?}: {out:?}"
        );
        assert_eq!(out.code, 0, "{mode:?}: {out:?}");
        assert!(out.stderr.contains("CPU time limit"), "{mode:?}: {out:?}");
    }
}
