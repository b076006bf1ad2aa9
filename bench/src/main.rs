//! reaper's benchmark: reaper against tini-static, dumb-init and catatonit, side by side, in
//! one interleaved run. Built and started by bench/run; what each figure means is in
//! doc/performance.md.
//!
//! One binary, two roles:
//!   bench [OPTIONS]          the driver (root): starts each init in a PID namespace of its
//!                            own, measures it from outside, prints the tables;
//!   bench launcher ...       PID 1 of a namespace in which the start-up of each init is
//!                            timed when it is NOT PID 1 (no init ever runs as a subreaper
//!                            outside a PID namespace: a teardown that signals -1 can
//!                            reach only the namespace).
//! The application each init runs is testkit's (`testkit bench`, tests/support/bench_app.rs):
//! it talks to the driver on fd 3 (it writes) and fd 4 (it reads), in the fixed 32-byte
//! messages of tests/support/bench_wire.rs. All inits pass inherited descriptors through.
//!
//! Every wait has a deadline; on a deadline the init is killed by pid, which ends its
//! whole namespace. It is a benchmark, not a test: it prints and never judges. It exits
//! non-zero only when a measurement could not run at all.

mod report;
/// reaper's own parser of `/proc/PID/stat`, one file in reaper, its tests and here.
#[path = "../../src/stat.rs"]
mod stat;
mod sys;
/// The messages between the driver and testkit's application.
#[path = "../../tests/support/bench_wire.rs"]
mod wire;

use report::{Better, Report, Shape, med, pct};
use std::ffi::OsString;
use std::path::PathBuf;
use sys::{Exec, sleep_ns};
use wire::now_ns;

const APP_OUT: i32 = 3;
const APP_IN: i32 = 4;
const SEC: i64 = 1_000_000_000;

fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("bench: {msg}");
    std::process::exit(1)
}

fn note(msg: impl std::fmt::Display) {
    eprintln!("bench: {msg}");
}

// ---------------------------------------------------------------- options

#[derive(Clone, Copy)]
struct Params {
    orphans: u32,
    backlog: u32,
    rounds: u32,
    backlog_rounds: u32,
    start_iters: u32,
    lat_samples: u32,
    lat_blocks: u32,
    idle_windows: u32,
    idle_seconds: u32,
    flat_small: u32,
    flat_large: u32,
    flat_all: bool,
}

impl Params {
    const FULL: Params = Params {
        orphans: 20000,
        backlog: 20000,
        rounds: 5,
        backlog_rounds: 10,
        start_iters: 300,
        lat_samples: 4000,
        lat_blocks: 8,
        idle_windows: 3,
        idle_seconds: 5,
        flat_small: 1000,
        flat_large: 100_000,
        flat_all: true,
    };
    const QUICK: Params = Params {
        rounds: 2,
        backlog_rounds: 4,
        start_iters: 100,
        lat_samples: 1000,
        lat_blocks: 2,
        idle_windows: 1,
        flat_all: false,
        ..Params::FULL
    };
    const SMOKE: Params = Params {
        orphans: 300,
        backlog: 300,
        rounds: 1,
        backlog_rounds: 1,
        start_iters: 5,
        lat_samples: 30,
        lat_blocks: 1,
        idle_windows: 1,
        idle_seconds: 5,
        flat_small: 100,
        flat_large: 1000,
        flat_all: false,
    };
}

const MEASUREMENTS: [&str; 5] = ["startup", "idle", "storm", "backlog", "flat"];

struct Options {
    params: Params,
    mode: &'static str,
    measure: Vec<String>,
    only: Option<Vec<String>>,
    /// Every init by name, reaper first.
    inits: Vec<(String, PathBuf)>,
    attach: Option<String>,
    logdir: PathBuf,
    testkit: PathBuf,
}

const USAGE: &str = "\
usage: bench [--smoke | --quick] [--rounds N] [--orphans N] [--backlog-rounds N] [--backlog N]
             [--startup-iters N] [--latency-samples N] [--latency-blocks N] [--idle-windows N]
             [--idle-seconds N] [--flat SMALL:LARGE] [--flat-all | --flat-reaper-only]
             [--measure startup,idle,storm,backlog,flat] [--only NAME,NAME...] [--init NAME=PATH]
             [--reaper PATH] [--testkit PATH] [--logdir DIR] [--attach 'PROFILER ... {pid} ... {name}']
Run as root (it makes PID namespaces). bench/run builds everything and runs this.
--smoke and --quick set every count: options after them change one.";

fn add_init(inits: &mut Vec<(String, PathBuf)>, name: &str, path: impl Into<PathBuf>) {
    match inits.iter_mut().find(|(n, _)| n == name) {
        Some(init) => init.1 = path.into(),
        None => inits.push((name.into(), path.into())),
    }
}

/// The value of `--NAME` as a count.
fn count(args: &mut lexopt::Parser, name: &str) -> Result<u32, lexopt::Error> {
    let value = args.value()?;
    let text = value.to_string_lossy();
    text.parse()
        .map_err(|_| format!("--{name} takes a count, not '{text}'").into())
}

fn parse_options() -> Result<Options, lexopt::Error> {
    use lexopt::prelude::*;
    let list = |v: String| -> Vec<String> {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let catatonit = if std::path::Path::new("/usr/bin/catatonit").exists() {
        "/usr/bin/catatonit"
    } else {
        "/usr/libexec/podman/catatonit"
    };
    let mut o = Options {
        params: Params::FULL,
        mode: "full",
        measure: MEASUREMENTS.map(String::from).to_vec(),
        only: None,
        inits: Vec::new(),
        attach: None,
        logdir: "/tmp".into(),
        testkit: "target/x86_64-unknown-linux-musl/release/examples/testkit".into(),
    };
    for (name, path) in [
        ("reaper", "target/x86_64-unknown-linux-musl/release/reaper"),
        ("tini-static", "/usr/bin/tini-static"),
        ("dumb-init", "/usr/bin/dumb-init"),
        ("catatonit", catatonit),
    ] {
        add_init(&mut o.inits, name, path);
    }
    let p = &mut o.params;
    let mut args = lexopt::Parser::from_env();
    while let Some(arg) = args.next()? {
        match arg {
            Long("smoke") => (*p, o.mode) = (Params::SMOKE, "smoke"),
            Long("quick") => (*p, o.mode) = (Params::QUICK, "quick"),
            Long("rounds") => p.rounds = count(&mut args, "rounds")?,
            Long("backlog-rounds") => p.backlog_rounds = count(&mut args, "backlog-rounds")?,
            Long("orphans") => p.orphans = count(&mut args, "orphans")?,
            Long("backlog") => p.backlog = count(&mut args, "backlog")?,
            Long("startup-iters") => p.start_iters = count(&mut args, "startup-iters")?,
            Long("latency-samples") => p.lat_samples = count(&mut args, "latency-samples")?,
            Long("latency-blocks") => p.lat_blocks = count(&mut args, "latency-blocks")?,
            Long("idle-windows") => p.idle_windows = count(&mut args, "idle-windows")?,
            Long("idle-seconds") => p.idle_seconds = count(&mut args, "idle-seconds")?,
            Long("flat") => {
                let v = args.value()?.string()?;
                let parsed = v
                    .split_once(':')
                    .and_then(|(s, l)| Some((s.parse().ok()?, l.parse().ok()?)));
                (p.flat_small, p.flat_large) = parsed.ok_or("--flat takes SMALL:LARGE")?;
            }
            Long("flat-all") => p.flat_all = true,
            Long("flat-reaper-only") => p.flat_all = false,
            Long("measure") => {
                o.measure = list(args.value()?.string()?);
                if let Some(bad) = o
                    .measure
                    .iter()
                    .find(|m| !MEASUREMENTS.contains(&m.as_str()))
                {
                    return Err(format!(
                        "--measure: no measurement '{bad}' (startup,idle,storm,backlog,flat)"
                    )
                    .into());
                }
            }
            Long("only") => o.only = Some(list(args.value()?.string()?)),
            Long("init") => {
                let v = args.value()?.string()?;
                let (name, path) = v.split_once('=').ok_or("--init takes NAME=PATH")?;
                add_init(&mut o.inits, name, path);
            }
            Long("reaper") => add_init(&mut o.inits, "reaper", args.value()?),
            Long("testkit") => o.testkit = args.value()?.into(),
            Long("attach") => o.attach = Some(args.value()?.string()?),
            Long("logdir") => o.logdir = args.value()?.into(),
            Short('h') | Long("help") => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let p = o.params;
    let counts = [
        p.rounds,
        p.backlog_rounds,
        p.orphans,
        p.backlog,
        p.start_iters,
        p.lat_samples,
        p.lat_blocks,
        p.idle_windows,
        p.idle_seconds,
        p.flat_small,
        p.flat_large,
    ];
    if counts.contains(&0) {
        return Err("every count must be at least 1".into());
    }
    Ok(o)
}

// ---------------------------------------------------------------- the inits

/// One init and its results, each a series in the order measured (which pairs it with the
/// other inits' series, round by round).
#[derive(Default)]
struct Init {
    name: String,
    path: PathBuf,
    size: u64,
    is_static: Option<bool>,
    /// ns, the whole run.
    start_pid1: Vec<f64>,
    start_sub: Vec<f64>,
    /// Per storm: ms.
    storm_ms: Vec<f64>,
    storm_tail_ms: Vec<f64>,
    storm_cpu_ms: Vec<f64>,
    /// ns per reaped process.
    storm_cpu_per: Vec<f64>,
    backlog_cpu_per: Vec<f64>,
    /// Wake-ups per reaped process; ns each.
    storm_wakes: Vec<f64>,
    storm_cpu_per_wake: Vec<f64>,
    backlog_ms: Vec<f64>,
    backlog_rate: Vec<f64>,
    backlog_cpu_ms: Vec<f64>,
    /// KiB.
    rss_idle: Vec<f64>,
    hwm_idle: Vec<f64>,
    rss_storm: Vec<f64>,
    hwm_storm: Vec<f64>,
    hwm_signals: Vec<f64>,
    anon_idle: Vec<f64>,
    anon_storm: Vec<f64>,
    hwm_small: Vec<f64>,
    hwm_large: Vec<f64>,
    /// Per idle window.
    ctxsw: Vec<f64>,
    /// ns, kill(init) to the app's handler.
    lat_init: Vec<f64>,
    /// ns, kill(app) to the app's handler, same session.
    lat_direct: Vec<f64>,
    lost_signals: u32,
    failures: u32,
}

/// What every measurement needs.
struct Bench {
    params: Params,
    testkit: PathBuf,
    self_exe: PathBuf,
    logdir: PathBuf,
    /// A profiler started on the init for the storm and the backlog, e.g.
    /// 'strace -c -o /tmp/strace.{name} -p {pid}'; it gets SIGINT when the measurement ends.
    attach: Option<String>,
}

// ---------------------------------------------------------------- sessions

/// An init running as PID 1 of its namespace, with testkit's app under it.
struct Session {
    /// The init, PID 1 of its namespace.
    pid: libc::pid_t,
    /// Its application, in our numbering (0 if it could not be found).
    app: libc::pid_t,
    from_app: i32,
    to_app: i32,
}

impl Bench {
    /// Starts INIT -- testkit bench ARGS... as PID 1 of a new namespace and waits for the
    /// app's R. None (with everything it started gone) if the app did not start.
    fn session_start(&self, init: &Init, app_args: &[&str]) -> Option<Session> {
        let (from_app, up) = sys::pipe().unwrap_or_else(|e| die(format!("pipe: {e}")));
        let (down, to_app) = sys::pipe().unwrap_or_else(|e| die(format!("pipe: {e}")));
        let errlog = self.logdir.join(format!("{}.stderr", init.name));
        let errlog_c = sys::cstring(&errlog);
        let mut argv: Vec<OsString> = vec![
            init.path.clone().into(),
            "--".into(),
            self.testkit.clone().into(),
            "bench".into(),
        ];
        argv.extend(app_args.iter().map(OsString::from));
        let exec = Exec::new(&argv);
        let pid = sys::fork_namespace(true)
            .unwrap_or_else(|e| die(format!("clone(CLONE_NEWPID): {e} (run as root)")));
        if pid == 0 {
            sys::place_fds([(up, APP_OUT), (down, APP_IN)]);
            sys::redirect_stdio(Some(&errlog_c));
            exec.exec();
        }
        sys::close(up);
        sys::close(down);
        if sys::recv(from_app, 10 * SEC).is_none_or(|m| m.tag != b'R') {
            note(format!(
                "{}: the app did not start (see {})",
                init.name,
                errlog.display()
            ));
            sys::kill(pid, libc::SIGKILL);
            sys::wait(pid, 0);
            sys::close(from_app);
            sys::close(to_app);
            return None;
        }
        let mut app = 0;
        for _ in 0..1000 {
            if let Some(child) = sys::child_of(pid) {
                app = child;
                break;
            }
            sleep_ns(1_000_000);
        }
        Some(Session {
            pid,
            app,
            from_app,
            to_app,
        })
    }
}

impl Session {
    /// Lets the app exit, then waits for the init to exit; kills it at the deadline.
    fn stop(self, name: &str) {
        sys::send(self.to_app, b'X');
        sys::close(self.to_app);
        let deadline = now_ns() + 10 * SEC;
        // Until it is reaped (or cannot be waited for).
        while let Some((0, _)) = sys::wait(self.pid, libc::WNOHANG) {
            if now_ns() > deadline {
                note(format!(
                    "{name} did not exit 10 s after its app: killing it"
                ));
                sys::kill(self.pid, libc::SIGKILL);
                sys::wait(self.pid, 0);
                break;
            }
            sleep_ns(500_000);
        }
        sys::close(self.from_app);
    }

    fn kill(self) {
        sys::kill(self.pid, libc::SIGKILL);
        sys::wait(self.pid, 0);
        sys::close(self.to_app);
        sys::close(self.from_app);
    }

    fn record_memory(
        &self,
        rss: Option<&mut Vec<f64>>,
        hwm: Option<&mut Vec<f64>>,
        anon: Option<&mut Vec<f64>>,
    ) {
        let field = |name| sys::status_field(self.pid, name);
        for (series, value) in [
            (rss, field("VmRSS")),
            (hwm, field("VmHWM")),
            (anon, field("RssAnon")),
        ] {
            if let (Some(series), Some(value)) = (series, value) {
                series.push(value as f64);
            }
        }
    }
}

// ---------------------------------------------------------------- measurements

/// Round `r`'s turn `j` of `n`: A B C, then B C A, …
fn rotate(r: usize, j: usize, n: usize) -> usize {
    (r + j) % n
}

impl Bench {
    fn measure_startup(
        &self,
        inits: &mut [Init],
        true_pid1: &mut Vec<f64>,
        true_sub: &mut Vec<f64>,
    ) {
        // Each command: INIT -- /bin/true, and last plain /bin/true.
        let n = inits.len() + 1;
        let commands: Vec<Vec<OsString>> = (0..n)
            .map(|c| match inits.get(c) {
                Some(init) => vec![init.path.clone().into(), "--".into(), "/bin/true".into()],
                None => vec!["/bin/true".into()],
            })
            .collect();
        // PID 1: each run is a new PID namespace whose PID 1 is INIT (or /bin/true).
        let execs: Vec<Exec> = commands.iter().map(|c| Exec::new(c)).collect();
        for r in 0..self.params.start_iters as usize {
            for j in 0..n {
                let c = rotate(r, j, n);
                let t0 = now_ns();
                let pid = sys::fork_namespace(false)
                    .unwrap_or_else(|e| die(format!("clone(CLONE_NEWPID): {e} (run as root)")));
                if pid == 0 {
                    sys::redirect_stdio(None);
                    execs[c].exec();
                }
                let status = sys::wait(pid, 0).map(|(_, st)| st);
                let dt = (now_ns() - t0) as f64;
                match (inits.get_mut(c), status.map(sys::exit_code)) {
                    (Some(init), Some(0)) => init.start_pid1.push(dt),
                    (Some(init), _) => init.failures += 1,
                    (None, Some(0)) => true_pid1.push(dt),
                    (None, _) => {}
                }
            }
        }

        // Not PID 1: one namespace whose PID 1 is our launcher; INIT runs as its child.
        let mut argv: Vec<OsString> = vec![
            self.self_exe.clone().into(),
            "launcher".into(),
            self.params.start_iters.to_string().into(),
            n.to_string().into(),
        ];
        for command in commands {
            argv.extend(command);
            argv.push(";".into());
        }
        let launcher = Exec::new(&argv);
        let (from_launcher, up) = sys::pipe().unwrap_or_else(|e| die(format!("pipe: {e}")));
        let pid = sys::fork_namespace(true).unwrap_or_else(|e| die(format!("clone: {e}")));
        if pid == 0 {
            sys::place_fds([(up, APP_OUT)]);
            sys::redirect_stdio(None);
            launcher.exec();
        }
        sys::close(up);
        let deadline =
            now_ns() + 60 * SEC + i64::from(self.params.start_iters) * n as i64 * 200_000_000;
        loop {
            let Some(m) = sys::recv(from_launcher, deadline - now_ns()) else {
                note("start-up (not PID 1): the launcher stopped answering; killing it");
                sys::kill(pid, libc::SIGKILL);
                break;
            };
            match m.tag {
                b'E' => break,
                b'T' => match inits.get_mut(m.n as usize) {
                    Some(init) if m.b != 0 => init.failures += 1,
                    Some(init) => init.start_sub.push(m.a as f64),
                    None if m.b == 0 => true_sub.push(m.a as f64),
                    None => {}
                },
                _ => {}
            }
        }
        sys::wait(pid, 0);
        sys::close(from_launcher);
    }

    /// Starts --attach on the init `pid`; returns the profiler, or None.
    fn attach_start(&self, name: &str, pid: libc::pid_t) -> Option<std::process::Child> {
        use std::os::unix::process::CommandExt;
        let cmd = self
            .attach
            .as_ref()?
            .replace("{pid}", &pid.to_string())
            .replace("{name}", name);
        let child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .process_group(0)
            .spawn();
        sleep_ns(SEC); // let it attach
        child.map_err(|e| note(format!("--attach: {e}"))).ok()
    }

    fn attach_stop(profiler: Option<std::process::Child>) {
        let Some(mut child) = profiler else {
            return;
        };
        let group = -(child.id() as libc::pid_t);
        sys::kill(group, libc::SIGINT);
        let deadline = now_ns() + 20 * SEC;
        while let Ok(None) = child.try_wait() {
            if now_ns() > deadline {
                sys::kill(group, libc::SIGKILL);
                let _ = child.wait();
                return;
            }
            sleep_ns(10_000_000);
        }
    }

    /// A measurement that cannot go on: `why` noted, counted as a failure of `init`, its
    /// profiler stopped and its session killed.
    fn give_up(init: &mut Init, s: Session, profiler: Option<std::process::Child>, why: String) {
        note(format!("{}: {why}", init.name));
        init.failures += 1;
        Self::attach_stop(profiler);
        s.kill();
    }

    /// A storm of `n` orphans under `init`. `timed`: its figures are recorded; `hwm_out`:
    /// where its VmHWM afterwards goes.
    fn measure_storm(
        &self,
        init: &mut Init,
        n: u32,
        hwm_out: Option<fn(&mut Init) -> &mut Vec<f64>>,
        timed: bool,
    ) {
        let Some(s) = self.session_start(init, &["storm", &n.to_string()]) else {
            init.failures += 1;
            return;
        };
        let profiler = if timed {
            self.attach_start(&init.name, s.pid)
        } else {
            None
        };
        let v0 = sys::status_field(s.pid, "voluntary_ctxt_switches");
        let c0 = sys::cpu_ns(s.pid).unwrap_or(-1);
        sys::send(s.to_app, b'G');
        let timeout = 30 * SEC + i64::from(n) * 2_000_000; // 2 ms an orphan, at worst
        let Some(m) = sys::recv(s.from_app, timeout).filter(|m| m.tag == b'D' && m.n == n as i32)
        else {
            let why = format!("the {n}-orphan storm did not finish; killing it");
            return Self::give_up(init, s, profiler, why);
        };
        let c1 = sys::cpu_ns(s.pid).unwrap_or(-1);
        let v1 = sys::status_field(s.pid, "voluntary_ctxt_switches");
        Self::attach_stop(profiler);
        let n_f = f64::from(n);
        let cpu = (c1 - c0) as f64;
        if timed {
            // Each time the init goes back to sleep is one voluntary context switch.
            if let (Some(v0), Some(v1)) = (v0, v1)
                && v1 > v0
            {
                init.storm_wakes.push((v1 - v0) as f64 / n_f);
                init.storm_cpu_per_wake.push(cpu / (v1 - v0) as f64);
            }
            init.storm_ms.push((m.c - m.a) as f64 / 1e6);
            init.storm_tail_ms.push((m.c - m.b) as f64 / 1e6);
            init.storm_cpu_ms.push(cpu / 1e6);
            init.storm_cpu_per.push(cpu / n_f);
            s.record_memory(
                Some(&mut init.rss_storm),
                Some(&mut init.hwm_storm),
                Some(&mut init.anon_storm),
            );
        }
        if let Some(hwm) = hwm_out {
            s.record_memory(None, Some(hwm(init)), None);
        }
        s.stop(&init.name);
    }

    /// A backlog of `n` zombies, made while `init` is stopped, then reaped.
    fn measure_backlog(&self, init: &mut Init, n: u32) {
        let Some(s) = self.session_start(init, &["backlog", &n.to_string()]) else {
            init.failures += 1;
            return;
        };
        sys::kill(s.pid, libc::SIGSTOP);
        let deadline = now_ns() + 5 * SEC;
        while sys::state(s.pid) != Some(b'T') {
            if now_ns() > deadline {
                return Self::give_up(init, s, None, "did not stop on SIGSTOP".into());
            }
            sleep_ns(200_000);
        }
        sys::send(s.to_app, b'G');
        let timeout = 30 * SEC + i64::from(n) * 2_000_000;
        let made = sys::recv(s.from_app, timeout);
        if !made.is_some_and(|m| m.tag == b'P' && m.n == n as i32) {
            let why = match made {
                Some(m) if m.tag == b'P' && m.a == 73 => "fork failed: out of pids?",
                Some(m) if m.tag == b'P' => "the spawner failed",
                _ => "no answer",
            };
            let why = format!("the {n}-zombie backlog could not be built ({why}); killing it");
            return Self::give_up(init, s, None, why);
        }
        let profiler = self.attach_start(&init.name, s.pid);
        let c0 = sys::cpu_ns(s.pid).unwrap_or(-1);
        let t0 = now_ns();
        sys::kill(s.pid, libc::SIGCONT);
        let Some(m) = sys::recv(s.from_app, timeout).filter(|m| m.tag == b'D' && m.n == n as i32)
        else {
            let why = format!("the {n}-zombie backlog was not reaped in time; killing it");
            return Self::give_up(init, s, profiler, why);
        };
        let c1 = sys::cpu_ns(s.pid).unwrap_or(-1);
        Self::attach_stop(profiler);
        let secs = (m.c - t0) as f64 / 1e9;
        let cpu = (c1 - c0) as f64;
        init.backlog_ms.push(secs * 1e3);
        init.backlog_rate.push(f64::from(n) / secs);
        init.backlog_cpu_ms.push(cpu / 1e6);
        init.backlog_cpu_per.push(cpu / f64::from(n));
        s.stop(&init.name);
    }

    /// All inits idle side by side: memory and context switches, then signal latency. The
    /// signals are sent in blocks, each with fresh sessions started in a rotated order, so
    /// that where the scheduler happened to place an init and its app averages out.
    fn measure_idle_and_signals(&self, inits: &mut [Init]) {
        let p = &self.params;
        let n = inits.len();
        let mut seed: u32 = 12345;
        let per_block = p.lat_samples.div_ceil(p.lat_blocks) as usize;
        for b in 0..p.lat_blocks as usize {
            let mut sessions: Vec<Option<Session>> = (0..n).map(|_| None).collect();
            for j0 in 0..n {
                let j = rotate(b, j0, n);
                sessions[j] = match self.session_start(&inits[j], &["idle"]) {
                    Some(s) if s.app > 0 => Some(s),
                    started => {
                        if let Some(s) = started {
                            s.kill();
                        }
                        inits[j].failures += 1;
                        None
                    }
                };
            }
            sleep_ns(300_000_000);
            if b == 0 {
                for (s, init) in sessions.iter().zip(inits.iter_mut()) {
                    if let Some(s) = s {
                        s.record_memory(
                            Some(&mut init.rss_idle),
                            Some(&mut init.hwm_idle),
                            Some(&mut init.anon_idle),
                        );
                    }
                }
                for _ in 0..p.idle_windows {
                    let before: Vec<Option<i64>> = sessions
                        .iter()
                        .map(|s| sys::ctx_switches(s.as_ref()?.pid))
                        .collect();
                    sleep_ns(i64::from(p.idle_seconds) * SEC);
                    for j in 0..n {
                        let after = sessions[j].as_ref().and_then(|s| sys::ctx_switches(s.pid));
                        if let (Some(before), Some(after)) = (before[j], after) {
                            inits[j].ctxsw.push((after - before) as f64);
                        }
                    }
                }
            }
            for r in b * per_block..(p.lat_samples as usize).min((b + 1) * per_block) {
                for j0 in 0..n {
                    let j = rotate(r, j0, n);
                    let (Some(s), init) = (&sessions[j], &mut inits[j]) else {
                        continue;
                    };
                    // Through the init and straight to the app, alternating which goes first.
                    for k in 0..2 {
                        let direct = (k + r) % 2 == 1;
                        let target = if direct { s.app } else { s.pid };
                        let t0 = now_ns();
                        sys::kill(target, libc::SIGUSR1);
                        let Some(m) = sys::recv(s.from_app, SEC).filter(|m| m.tag == b'S') else {
                            init.lost_signals += 1;
                            continue;
                        };
                        let series = if direct {
                            &mut init.lat_direct
                        } else {
                            &mut init.lat_init
                        };
                        series.push((m.a - t0) as f64);
                        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        sleep_ns(100_000 + i64::from((seed >> 16) % 200_000));
                    }
                }
            }
            for (s, init) in sessions.into_iter().zip(inits.iter_mut()) {
                if let Some(s) = s {
                    s.record_memory(None, Some(&mut init.hwm_signals), None);
                    s.stop(&init.name);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- launcher (PID 1)

/// `bench launcher ITERATIONS COUNT` then COUNT commands, each "PATH" "ARG" ... ";". Runs
/// them in rotated order, ITERATIONS rounds, timing fork to reaped; writes T k ns per run.
fn launcher(args: &[OsString]) -> i32 {
    let number = |i: usize| args.get(i).and_then(|a| a.to_str()?.parse::<usize>().ok());
    let (Some(iters), Some(count)) = (number(0), number(1)) else {
        return 64;
    };
    let commands: Vec<Exec> = args[2..]
        .split(|a| a == ";")
        .filter(|c| !c.is_empty())
        .map(Exec::new)
        .collect();
    if commands.len() != count {
        return 64;
    }
    let send = |tag: u8, n: i32, a: i64, b: i64| {
        let m = wire::Msg::new(tag, n, a, b, 0).encode();
        // SAFETY: a live buffer; one atomic pipe write.
        unsafe { libc::write(APP_OUT, m.as_ptr().cast(), m.len()) };
    };
    let devnull = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    for r in 0..iters {
        for j in 0..count {
            let c = rotate(r, j, count);
            let t0 = now_ns();
            // SAFETY: the child makes raw syscalls only, then execs or _exits.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                unsafe {
                    libc::dup2(devnull, 0);
                    libc::dup2(devnull, 1);
                    libc::dup2(devnull, 2);
                }
                commands[c].exec();
            }
            let status = if pid > 0 {
                sys::wait(pid, 0).map_or(-1, |(_, st)| sys::exit_code(st))
            } else {
                -1
            };
            send(b'T', c as i32, now_ns() - t0, i64::from(status));
        }
    }
    send(b'E', 0, 0, 0);
    0
}

// ---------------------------------------------------------------- report

fn print_machine() {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut u) };
    let field = |f: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split_once(':')?.1.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let load = sys::loadavg();
    let mut date = [0u8; 64];
    let len = unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        libc::strftime(
            date.as_mut_ptr().cast(),
            date.len(),
            c"%Y-%m-%d %H:%M %Z".as_ptr(),
            &tm,
        )
    };
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    println!(
        "date: {}; kernel {} {}; {cpus} CPUs ({model}); load average {:.2} {:.2} {:.2}",
        String::from_utf8_lossy(&date[..len]),
        field(&u.release),
        field(&u.machine),
        load[0],
        load[1],
        load[2]
    );
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "launcher") {
        std::process::exit(launcher(&args[2..]));
    }
    let o = parse_options().unwrap_or_else(|e| die(format!("{e} (bench --help)")));
    let self_exe =
        std::env::current_exe().unwrap_or_else(|e| die(format!("cannot read /proc/self/exe: {e}")));
    if unsafe { libc::geteuid() } != 0 {
        die("run as root: every init runs as PID 1 of a PID namespace of its own");
    }
    // A watchdog: the driver dying takes every namespace with it (PR_SET_PDEATHSIG). (Rust
    // already ignores SIGPIPE: nothing of ours dies of a pipe.)
    unsafe { libc::alarm(3 * 3600) };
    let p = o.params;
    let testkit = std::fs::canonicalize(&o.testkit).unwrap_or_else(|_| {
        die(format!(
            "no testkit at {} (cargo build --release --target x86_64-unknown-linux-musl --example testkit)",
            o.testkit.display()
        ))
    });

    let mut inits: Vec<Init> = Vec::new();
    let mut reaper = None;
    for (i, (name, path)) in o.inits.iter().enumerate() {
        if o.only.as_ref().is_some_and(|only| !only.contains(name)) {
            continue;
        }
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .ok()
            .filter(|m| m.permissions().mode() & 0o100 != 0);
        let Some(meta) = meta else {
            if i == 0 {
                die(format!(
                    "no reaper binary at {} (cargo build --release --target x86_64-unknown-linux-musl)",
                    path.display()
                ));
            }
            note(format!("{name} not found at {}: left out", path.display()));
            continue;
        };
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        if i == 0 {
            reaper = Some(inits.len());
        }
        inits.push(Init {
            name: name.clone(),
            is_static: sys::elf_is_static(&path),
            path,
            size: meta.len(),
            ..Init::default()
        });
    }
    if inits.is_empty() {
        die("no init to measure");
    }
    let bench = Bench {
        params: p,
        testkit,
        self_exe,
        logdir: o.logdir,
        attach: o.attach,
    };
    let measure = |what: &str| o.measure.iter().any(|m| m == what);

    let started = now_ns();
    println!(
        "reaper benchmark ({}): {} storms of {} orphans, {} backlogs of {} zombies, {} start-ups, {} signals, {} x {} s idle, for each init",
        o.mode,
        p.rounds,
        p.orphans,
        p.backlog_rounds,
        p.backlog,
        p.start_iters,
        p.lat_samples,
        p.idle_windows,
        p.idle_seconds
    );
    print_machine();
    let listed: String = inits
        .iter()
        .map(|i| format!(" {}={}", i.name, i.path.display()))
        .collect();
    println!("inits:{listed}");

    let (mut true_pid1, mut true_sub) = (Vec::new(), Vec::new());
    if measure("startup") {
        note(format!(
            "start-up: {} x {} runs as PID 1, and as many not as PID 1",
            p.start_iters,
            inits.len() + 1
        ));
        bench.measure_startup(&mut inits, &mut true_pid1, &mut true_sub);
    }
    if measure("idle") {
        note(format!(
            "idle: {} window(s) of {} s, then {} signals through each init and direct",
            p.idle_windows, p.idle_seconds, p.lat_samples
        ));
        bench.measure_idle_and_signals(&mut inits);
    }
    let (storm, backlog) = (measure("storm"), measure("backlog"));
    let rounds = match (storm, backlog) {
        (true, true) => p.rounds.max(p.backlog_rounds),
        (true, false) => p.rounds,
        (false, true) => p.backlog_rounds,
        (false, false) => 0,
    };
    let n = inits.len();
    for r in 0..rounds {
        let (do_storm, do_backlog) = (storm && r < p.rounds, backlog && r < p.backlog_rounds);
        note(format!(
            "round {}/{rounds}:{}{}, for each init",
            r + 1,
            if do_storm { " storm" } else { "" },
            if do_backlog { " backlog" } else { "" }
        ));
        for j in 0..n {
            if do_storm {
                bench.measure_storm(&mut inits[rotate(r as usize, j, n)], p.orphans, None, true);
            }
        }
        for j in 0..n {
            if do_backlog {
                bench.measure_backlog(&mut inits[rotate(r as usize, j, n)], p.backlog);
            }
        }
    }
    if measure("flat") {
        note(format!(
            "flatness: VmHWM after {} and after {} orphans ({})",
            p.flat_small,
            p.flat_large,
            if p.flat_all {
                "every init"
            } else {
                "reaper only"
            }
        ));
        for (j, init) in inits.iter_mut().enumerate() {
            if !p.flat_all && Some(j) != reaper {
                continue;
            }
            bench.measure_storm(init, p.flat_small, Some(|i| &mut i.hwm_small), false);
            bench.measure_storm(init, p.flat_large, Some(|i| &mut i.hwm_large), false);
        }
    }
    print_tables(&inits, reaper, &p, &true_pid1, &true_sub);

    let mut failures = 0;
    for init in &inits {
        if init.failures > 0 {
            println!(
                "\n{}: {} measurement(s) could not run (stderr in {}/{}.stderr)",
                init.name,
                init.failures,
                bench.logdir.display(),
                init.name
            );
            failures += init.failures;
        }
    }
    let load = sys::loadavg();
    println!(
        "\nfinished in {:.0} s; load average at the end {:.2} {:.2} {:.2}",
        (now_ns() - started) as f64 / 1e9,
        load[0],
        load[1],
        load[2]
    );
    std::process::exit(if failures > 0 { 1 } else { 0 });
}

/// Which samples of an init a figure shows.
type Get = fn(&Init) -> &Vec<f64>;

/// Figures in a row, each a label, how it is shown and the samples it shows.
fn figures<const N: usize>(rep: &mut Report, inits: &[Init], rows: [(&str, Shape, Get); N]) {
    for (label, shape, get) in rows {
        let series: Vec<&[f64]> = inits.iter().map(|i| get(i).as_slice()).collect();
        rep.figure(label, shape, &series);
    }
}

fn print_tables(
    inits: &[Init],
    reaper: Option<usize>,
    p: &Params,
    true_pid1: &[f64],
    true_sub: &[f64],
) {
    println!("\n(1) binary");
    println!(
        "    {:<12} {:>10}  {:<8}  peer / reaper",
        "init", "bytes", "static"
    );
    for init in inits {
        let ratio = reaper.map_or(f64::NAN, |r| init.size as f64 / inits[r].size as f64);
        println!(
            "    {:<12} {:>10}  {:<8}  {ratio:.2}",
            init.name,
            init.size,
            report::yes_no(init.is_static)
        );
    }
    let mut rep = Report::new(inits.iter().map(|i| i.name.clone()).collect(), reaper);
    let series = |get: fn(&Init) -> &Vec<f64>| -> Vec<&[f64]> {
        inits.iter().map(|i| get(i).as_slice()).collect()
    };
    let lower = Shape::lower;

    println!(
        "\n(2) start-up overhead: INIT -- /bin/true minus plain /bin/true (medians of {} runs)",
        p.start_iters
    );
    let (t1, ts) = (med(true_pid1), med(true_sub));
    println!(
        "    /bin/true alone: {:.0} us as PID 1 of a new namespace, {:.0} us not PID 1",
        t1 / 1e3,
        ts / 1e3
    );
    let minus = |offset| Shape {
        offset,
        ..lower("us", 1e-3)
    };
    figures(
        &mut rep,
        inits,
        [
            ("start-up overhead, as PID 1", minus(t1), |i| &i.start_pid1),
            (
                "start-up overhead, not PID 1 (child of a PID 1)",
                minus(ts),
                |i| &i.start_sub,
            ),
        ],
    );

    println!("\n(3) reaping, as PID 1");
    figures(
        &mut rep,
        inits,
        [
            (
                "storm: time until no zombie is left",
                lower("ms", 1.0),
                |i| &i.storm_ms,
            ),
            (
                "storm: tail, from the last orphan made to the last reaped",
                lower("ms", 1.0),
                |i| &i.storm_tail_ms,
            ),
            (
                "backlog: time to reap every zombie after SIGCONT",
                lower("ms", 1.0),
                |i| &i.backlog_ms,
            ),
            (
                "backlog: reaping rate",
                Shape {
                    better: Better::Higher,
                    ..lower("reaped/s", 1.0)
                },
                |i| &i.backlog_rate,
            ),
        ],
    );

    println!("\n(4) signal forwarding: kill(SIGUSR1) until the app's handler runs");
    let with_p99 = || Shape {
        p99: true,
        ..lower("us", 1e-3)
    };
    rep.figure(
        "signal latency through the init",
        with_p99(),
        &series(|i| &i.lat_init),
    );
    // p99 is one number per init; to tell a difference from noise, compare it block by
    // block (each block has fresh sessions), as the medians are compared sample by sample.
    if let Some(r) = reaper
        && p.lat_blocks > 1
    {
        let rs = &inits[r].lat_init;
        let per = rs.len() / p.lat_blocks as usize;
        print!(
            "    p99 block by block ({} blocks of {per} signals, fresh sessions each): reaper lower in",
            p.lat_blocks
        );
        for (j, init) in inits.iter().enumerate() {
            let ps = &init.lat_init;
            if j == r || ps.len() != rs.len() || per < 2 {
                continue;
            }
            let block = |s: &[f64], b: usize| pct(&s[b * per..(b + 1) * per], 99.0);
            let won = (0..p.lat_blocks as usize)
                .filter(|&b| block(rs, b) < block(ps, b))
                .count();
            print!(" {won}/{} against {};", p.lat_blocks, init.name);
        }
        println!();
    }
    rep.figure(
        "signal latency, the app signalled directly",
        with_p99(),
        &series(|i| &i.lat_direct),
    );
    // Forwarding overhead, pairwise: each via-init sample minus the direct median.
    let forwarding: Vec<Vec<f64>> = inits
        .iter()
        .map(|i| {
            let direct = med(&i.lat_direct);
            i.lat_init.iter().map(|v| v - direct).collect()
        })
        .collect();
    let forwarding: Vec<&[f64]> = forwarding.iter().map(Vec::as_slice).collect();
    rep.figure(
        "forwarding overhead (through the init minus direct median)",
        with_p99(),
        &forwarding,
    );
    for init in inits.iter().filter(|i| i.lost_signals > 0) {
        println!(
            "    {}: {} signals never reached the app",
            init.name, init.lost_signals
        );
    }

    println!("\n(5) memory of the init");
    let kib = || lower("KiB", 1.0);
    figures(
        &mut rep,
        inits,
        [
            ("VmRSS, app sleeping", kib(), |i| &i.rss_idle),
            ("VmHWM, app sleeping", kib(), |i| &i.hwm_idle),
            ("VmHWM, after the signals of (4)", kib(), |i| &i.hwm_signals),
            (
                "RssAnon (private; the rest of VmRSS is the binary's pages), app sleeping",
                kib(),
                |i| &i.anon_idle,
            ),
            ("VmRSS, after a storm", kib(), |i| &i.rss_storm),
            ("VmHWM, after a storm", kib(), |i| &i.hwm_storm),
            ("RssAnon, after a storm", kib(), |i| &i.anon_storm),
            (
                &format!("VmHWM after a storm of {} orphans", p.flat_small),
                kib(),
                |i| &i.hwm_small,
            ),
            (
                &format!("VmHWM after a storm of {} orphans", p.flat_large),
                kib(),
                |i| &i.hwm_large,
            ),
        ],
    );

    println!("\n(6) context switches of the init while idle");
    rep.figure(
        &format!("context switches in {} idle s", p.idle_seconds),
        Shape {
            lo: 0.0,
            hi: 100.0,
            ..lower("count", 1.0)
        },
        &series(|i| &i.ctxsw),
    );

    println!("\n(7) CPU time of the init (user + system)");
    figures(
        &mut rep,
        inits,
        [
            ("CPU during a storm", lower("ms", 1.0), |i| &i.storm_cpu_ms),
            ("storm: CPU per reaped process", lower("us", 1e-3), |i| {
                &i.storm_cpu_per
            }),
            (
                "storm: wake-ups of the init per reaped process (fewer = more batched, slower to react)",
                lower("count", 1.0),
                |i| &i.storm_wakes,
            ),
            ("storm: CPU per wake-up", lower("us", 1e-3), |i| {
                &i.storm_cpu_per_wake
            }),
            ("CPU during a backlog", lower("ms", 1.0), |i| {
                &i.backlog_cpu_ms
            }),
            ("backlog: CPU per reaped process", lower("us", 1e-3), |i| {
                &i.backlog_cpu_per
            }),
        ],
    );

    let sizes: Vec<u64> = inits.iter().map(|i| i.size).collect();
    let statics: Vec<Option<bool>> = inits.iter().map(|i| i.is_static).collect();
    rep.summary(&sizes, &statics);
}
