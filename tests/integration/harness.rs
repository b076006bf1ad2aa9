//! Runs the real reaper binary in a PID namespace of its own, as PID 1 or as a subreaper
//! under a small waiting PID 1 (testkit pid1), so that even a teardown bug that reached
//! `kill(-1)` could not touch anything outside the namespace.
//!
//! `unshare --kill-child` ties the namespace to the `unshare` process this harness starts:
//! killing that one pid (never a name) ends everything the test started. Every wait has a
//! deadline; on a timeout the harness kills the namespace and fails with the command, its
//! output and status.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::sys::proc_stat;
use crate::sys::{self, bit};

/// How long any single run may take before the harness calls it a hang.
pub const HANG: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    Pid1,
    Subreaper,
}

/// `for mode in BOTH`: PID 1, then subreaper; PID 1 only when `REAPER_TEST_MODES=pid1`.
/// That is for an emulator that refuses `PR_SET_CHILD_SUBREAPER` (qemu-user 7.2, Debian
/// 12's, answers EINVAL), under which reaper cannot be a subreaper at all: release/test-foreign
/// sets it then, and says so.
pub const BOTH: Modes = Modes;

pub struct Modes;

impl IntoIterator for Modes {
    type Item = As;
    type IntoIter = std::vec::IntoIter<As>;

    fn into_iter(self) -> Self::IntoIter {
        match std::env::var("REAPER_TEST_MODES").as_deref() {
            Err(std::env::VarError::NotPresent) | Ok("") => vec![As::Pid1, As::Subreaper],
            Ok("pid1") => vec![As::Pid1],
            other => panic!("REAPER_TEST_MODES={other:?}: only \"pid1\" is known"),
        }
        .into_iter()
    }
}

/// The reaper under test: the one cargo built, or `REAPER_TEST_BIN` (another build of it,
/// such as the static arm64 release binary).
pub fn reaper_bin() -> PathBuf {
    std::env::var_os("REAPER_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_reaper")))
}

/// A program that runs reaper for us, from `REAPER_TEST_LAUNCHER` (e.g.
/// `qemu-aarch64-static` for a binary of another architecture); none by default.
pub fn launcher() -> Option<PathBuf> {
    std::env::var_os("REAPER_TEST_LAUNCHER")
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
}

/// The launcher's own arguments, before reaper's path, from `REAPER_TEST_LAUNCHER_ARGS`
/// split on spaces (e.g. `-cpu arm1176`, for qemu-arm to be an ARMv6 CPU): the launcher
/// stays one program, which the tests find reaper's process by.
pub fn launcher_args() -> Vec<String> {
    std::env::var("REAPER_TEST_LAUNCHER_ARGS")
        .map(|a| a.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// testkit sits with the examples, beside the reaper binary cargo built (whatever
/// `REAPER_TEST_BIN` says: the workloads stay native); `cargo test` builds it.
pub fn testkit() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_reaper"))
        .parent()
        .expect("target dir")
        .join("examples")
        .join("testkit");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test`, which builds the testkit example",
        path.display()
    );
    path
}

pub fn testkit_str() -> String {
    testkit().to_string_lossy().into_owned()
}

/// `testkit inspect --to REPORT` as reaper arguments: the app writes what it was given
/// and found (its signal mask and ignored signals, descriptors, arguments, environment,
/// process group, terminal, working directory) to the sandbox's file `report`, as
/// `key: value` lines that [`field`] reads.
pub fn inspect(sandbox: &Sandbox) -> [String; 4] {
    [
        testkit_str(),
        "inspect".into(),
        "--to".into(),
        sandbox.file("report"),
    ]
}

/// The values of the `key: value` lines of a testkit inspect report, in order.
pub fn field<'a>(report: &'a str, key: &str) -> Vec<&'a str> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(str::trim))
        .collect()
}

/// A `testkit catch` pair (main and member, one group, logging every signal they get to
/// the sandbox's file `signals`) under `run`: sends reaper `sig` and waits until both have
/// logged it, then ends them with their exit signal `exit_sig` and asserts that reaper
/// exits 0 (`what` names the case). Returns the log.
pub fn both_catchers_get(
    mut run: Running,
    sandbox: &Sandbox,
    sig: i32,
    exit_sig: i32,
    what: &str,
) -> String {
    let log = sandbox.path("signals");
    run.signal(sig);
    run.wait_for_file(&log, &format!("main {sig}\n"));
    run.wait_for_file(&log, &format!("member {sig}\n"));
    run.signal(exit_sig);
    let out = run.wait();
    assert_eq!(out.code, 0, "{what}: {out:?}");
    sandbox.read("signals")
}

/// A scratch directory for one test, removed when dropped.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new(name: &str) -> Sandbox {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "reaper-test-{}-{}-{name}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create sandbox");
        Sandbox { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn file(&self, name: &str) -> String {
        self.path(name).to_string_lossy().into_owned()
    }

    pub fn write(&self, name: &str, content: &str) -> String {
        std::fs::write(self.path(name), content).expect("write sandbox file");
        self.file(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

type Stdio3 = Box<dyn FnOnce(&mut Command)>;
type PreExec = Box<dyn FnMut() -> std::io::Result<()> + Send + Sync>;

/// A reaper invocation being built.
pub struct Run {
    mode: As,
    args: Vec<OsString>,
    wrap: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    dir: Option<PathBuf>,
    kill_child: bool,
    stdio: Option<Stdio3>,
    pre_exec: Vec<PreExec>,
    timeout: Duration,
}

pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn reaper(mode: As) -> Run {
    Run {
        mode,
        args: Vec::new(),
        wrap: Vec::new(),
        env: vec![("PATH".into(), PATH.into())],
        dir: None,
        kill_child: true,
        stdio: None,
        pre_exec: Vec::new(),
        timeout: HANG,
    }
}

impl Run {
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, args: I) -> Self {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets a variable; the environment is otherwise empty but for PATH.
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.env
            .push((k.as_ref().to_owned(), v.as_ref().to_owned()));
        self
    }

    /// Runs reaper through these words (e.g. `sh -c 'mount ...; exec "$@"' sh`), which
    /// must end by exec'ing it: it keeps its pid and place in the namespace.
    pub fn wrap<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, words: I) -> Self {
        self.wrap = words.into_iter().map(|w| w.as_ref().to_owned()).collect();
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Whether the namespace dies with the `unshare` process (the default). Without it,
    /// reaper outlives a killed `unshare`, so that its parent can die under it.
    pub fn kill_child(mut self, on: bool) -> Self {
        self.kill_child = on;
        self
    }

    pub fn stdio(mut self, f: impl FnOnce(&mut Command) + 'static) -> Self {
        self.stdio = Some(Box::new(f));
        self
    }

    /// Runs in the forked child just before `unshare` is executed, to shape what reaper
    /// inherits (signal mask, dispositions, descriptors, terminal).
    pub fn pre_exec(
        mut self,
        f: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.pre_exec.push(Box::new(f));
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    fn command(self) -> (Command, String, Duration, bool) {
        let mut cmd = Command::new("unshare");
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            cmd.args(["--user", "--map-root-user"]);
        }
        cmd.args(["--pid", "--fork", "--mount-proc"]);
        if self.kill_child {
            cmd.arg("--kill-child");
        }
        cmd.arg("--");
        if self.mode == As::Subreaper {
            cmd.arg(testkit()).arg("pid1");
        }
        cmd.args(&self.wrap);
        if let Some(launcher) = launcher() {
            cmd.arg(launcher).args(launcher_args());
        }
        cmd.arg(reaper_bin()).args(&self.args);
        cmd.env_clear().envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &self.dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(f) = self.stdio {
            f(&mut cmd);
        }
        // SAFETY: raw syscalls only, in the forked child.
        unsafe { cmd.pre_exec(clean_inheritance) };
        for f in self.pre_exec {
            // SAFETY: the closures given to the harness make raw syscalls only.
            unsafe { cmd.pre_exec(f) };
        }
        let shown = format!("{:?} (as {:?})", self.args, self.mode);
        (cmd, shown, self.timeout, self.kill_child)
    }

    /// Starts reaper and returns once it has blocked its signals, so that a signal sent
    /// from now on is reaper's to handle (before that, the kernel's default applies).
    pub fn start(self) -> Running {
        let mode = self.mode;
        let (mut cmd, shown, timeout, kill_child) = self.command();
        let child = cmd.spawn().expect("spawn unshare");
        let mut running = Running::new(child, shown, timeout, kill_child);
        let depth = if mode == As::Pid1 { 1 } else { 2 };
        running.reaper_pid = running.find_reaper(depth);
        running
    }

    /// Runs reaper to the end.
    pub fn run(self) -> Outcome {
        let (mut cmd, shown, timeout, kill_child) = self.command();
        let child = cmd.spawn().expect("spawn unshare");
        Running::new(child, shown, timeout, kill_child).wait()
    }
}

/// Gives reaper a known inheritance whatever the test runner itself inherited: no
/// descriptor but 0, 1 and 2 (the rest become close-on-exec, so std's own error pipe still
/// works), every signal at its default action and none blocked. The C library's calls
/// refuse its internal signals, so these are the raw syscalls.
fn clean_inheritance() -> std::io::Result<()> {
    // SAFETY: a raw syscall on no memory; an error (a kernel without close_range) only
    // leaves the descriptors as they were.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    for sig in (1..=64).filter(|&s| s != libc::SIGKILL && s != libc::SIGSTOP) {
        sys::set_ignored(sig, false);
    }
    sys::set_mask(libc::SIG_SETMASK, 0);
    Ok(())
}

/// What a finished run left.
#[derive(Debug)]
pub struct Outcome {
    /// reaper's exit status (128+N if it died of signal N).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

pub struct Running {
    child: Option<Child>,
    shown: String,
    started: Instant,
    deadline: Instant,
    out: Option<JoinHandle<Vec<u8>>>,
    err: Option<JoinHandle<Vec<u8>>>,
    kill_child: bool,
    /// reaper's pid as this test sees it.
    pub reaper_pid: i32,
}

fn reader(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut p| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = p.read_to_end(&mut buf);
            buf
        })
    })
}

impl Running {
    fn new(mut child: Child, shown: String, timeout: Duration, kill_child: bool) -> Running {
        let out = reader(child.stdout.take());
        let err = reader(child.stderr.take());
        let started = Instant::now();
        Running {
            child: Some(child),
            shown,
            started,
            deadline: started + timeout,
            out,
            err,
            kill_child,
            reaper_pid: 0,
        }
    }

    pub fn unshare_pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    fn find_reaper(&mut self, depth: usize) -> i32 {
        let reaper = reaper_bin();
        let mut pid = self.unshare_pid();
        for _ in 0..depth {
            pid = self.poll("reaper to start", || only_child(pid));
        }
        let exe_wanted = launcher().and_then(|l| which(&l)).unwrap_or(reaper);
        self.poll("reaper to block its signals", || {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
            (exe == exe_wanted && takes_signals(pid)).then_some(())
        });
        pid
    }

    /// Polls `f` every few milliseconds until it gives a value or the run's deadline passes.
    pub fn poll<T>(&mut self, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() >= self.deadline {
                self.fail(&format!("timed out waiting for {what}"));
            }
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                // One last look: what we waited for may be true as the run ends.
                if let Some(v) = f() {
                    return v;
                }
                self.fail(&format!("reaper ended while waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits, up to the run's deadline, for a file to hold `needle`.
    pub fn wait_for_file(&mut self, path: &Path, needle: &str) -> String {
        let what = format!("{} to contain {needle:?}", path.display());
        self.poll(&what, || {
            std::fs::read_to_string(path)
                .ok()
                .filter(|s| s.contains(needle))
        })
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        let r = unsafe { libc::kill(self.reaper_pid, sig) };
        assert_eq!(r, 0, "kill({}, {sig})", self.reaper_pid);
    }

    /// Kills the namespace and fails the test with everything known about the run.
    fn fail(&mut self, why: &str) -> ! {
        let outcome = self.finish(true);
        panic!(
            "{why}\n  run: {}\n  status: {}\n  stdout: {}\n  stderr: {}",
            self.shown, outcome.code, outcome.stdout, outcome.stderr
        );
    }

    fn finish(&mut self, kill: bool) -> Outcome {
        let Some(mut child) = self.child.take() else {
            return Outcome {
                code: -1,
                stdout: String::new(),
                stderr: String::new(),
                elapsed: Duration::ZERO,
            };
        };
        if kill {
            let _ = child.kill();
            if !self.kill_child && self.reaper_pid > 0 {
                // The namespace does not die with unshare: end it through its PID 1.
                // SAFETY: kill has no memory-safety preconditions; the pid is this run's.
                unsafe { libc::kill(self.reaper_pid, libc::SIGKILL) };
            }
        }
        let status = child.wait().expect("wait for unshare");
        let elapsed = self.started.elapsed();
        let text = |h: Option<JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        Outcome {
            code,
            stdout: text(self.out.take()),
            stderr: text(self.err.take()),
            elapsed,
        }
    }

    /// Waits for the run to end, up to its deadline.
    pub fn wait(mut self) -> Outcome {
        loop {
            match self.child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(_))) | None => return self.finish(false),
                _ => {}
            }
            if Instant::now() >= self.deadline {
                self.fail("timed out waiting for reaper to exit");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.finish(true);
        }
    }
}

/// A program's path as exec would find it on PATH.
fn which(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.canonicalize().ok();
    }
    PATH.split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.exists())?
        .canonicalize()
        .ok()
}

/// The one child of `pid`, once it has exactly one.
pub fn only_child(pid: i32) -> Option<i32> {
    let children = children_of(pid);
    (children.len() == 1).then(|| children[0])
}

pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&p| proc_stat(p).is_some_and(|s| s.ppid == pid))
        .collect()
}

/// A field of /proc/PID/status, such as "voluntary_ctxt_switches".
pub fn status_field(pid: i32, key: &str) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        l.strip_prefix(key)?
            .strip_prefix(':')
            .map(|v| v.trim().to_string())
    })
}

/// Whether reaper has blocked its signals: its mask shows them, or it is waiting for them
/// in rt_sigtimedwait (which lifts the block on the waited-for signals while it waits, so
/// the mask in /proc no longer shows them).
fn takes_signals(pid: i32) -> bool {
    // Under a launcher (qemu-user), /proc shows the emulator's host mask, not the emulated
    // reaper's: qemu blocks every host signal around its own work, mirrors the guest's mask
    // only lazily, and never shows 32 and 33 (its C library keeps them). Only the guest's
    // own rt_sigtimedwait puts qemu to sleep in the host's, so that alone says reaper has
    // blocked its signals (and is in its loop).
    let blocked = status_field(pid, "SigBlk").and_then(|m| u64::from_str_radix(&m, 16).ok());
    if launcher().is_none() && blocked.is_some_and(|b| b & HANDLED == HANDLED) {
        return true;
    }
    asleep_in_sigtimedwait(pid)
}

/// Whether `pid` is asleep in rt_sigtimedwait, as an idle reaper is.
pub fn asleep_in_sigtimedwait(pid: i32) -> bool {
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    proc_stat(pid).is_some_and(|s| s.state == 'S')
        && (wchan.starts_with("do_sigtimedwait")
            || syscall.split_whitespace().next() == Some(&libc::SYS_rt_sigtimedwait.to_string()))
}

/// The signals reaper blocks: all but KILL, STOP and the synchronous faults.
pub const HANDLED: u64 = !(bit(libc::SIGKILL)
    | bit(libc::SIGSTOP)
    | bit(libc::SIGSEGV)
    | bit(libc::SIGBUS)
    | bit(libc::SIGILL)
    | bit(libc::SIGFPE)
    | bit(libc::SIGTRAP)
    | bit(libc::SIGSYS)
    | bit(libc::SIGABRT));

/// Every signal reaper forwards: what it handles but SIGCHLD.
pub fn forwarded_signals() -> Vec<i32> {
    (1..=64)
        .filter(|&s| HANDLED & bit(s) != 0 && s != libc::SIGCHLD)
        .collect()
}

/// For [`Run::pre_exec`]: sets reaper's descriptor limit to 4 (0, 1 and 2 open: one to
/// spare), as `prlimit --nofile=4:4` or `docker run --ulimit nofile=4:4` do.
pub fn nofile_4() -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: 4,
        rlim_max: 4,
    };
    // SAFETY: setrlimit on a live struct, in the forked child.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `sh -c SCRIPT` as reaper arguments.
pub fn sh(script: &str) -> [String; 3] {
    ["sh".into(), "-c".into(), script.into()]
}

/// A test that cannot run here (no real root, no pids cgroup): it fails, naming `why`,
/// so that a run never passes having skipped it; with `REAPER_TEST_ALLOW_SKIP=1` it
/// passes instead and says so on stderr (`cargo test -- --nocapture` shows it).
/// tests/run-all never sets the variable.
pub fn cannot_run(why: &str) {
    assert!(
        std::env::var_os("REAPER_TEST_ALLOW_SKIP").is_some_and(|v| v == "1"),
        "cannot run here: {why} (REAPER_TEST_ALLOW_SKIP=1 skips this test on purpose)"
    );
    eprintln!("SKIPPED (REAPER_TEST_ALLOW_SKIP=1): {why}");
}
