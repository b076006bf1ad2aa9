//! testkit: the workloads reaper's tests run under it. Built by `cargo test` (it is an
//! example target), and for musl by docker-test, so the same helpers run in containers.
//!
//!   testkit pid1 CMD...          a waiting PID 1 for subreaper tests: runs CMD, reaps
//!                                anything, exits with CMD's status (128+N if killed),
//!                                and names any process still alive then on stderr
//!   testkit catch FILE EXITSIG   blocks every signal, forks one group member; both
//!                                append "<role> <signo>" to FILE for each signal
//!                                received, after a "<role> ready" line; both exit 0
//!                                on EXITSIG
//!   testkit orphans N            leaves N orphans that exit as soon as they are orphaned
//!   testkit zombies [SECS]       counts zombies in /proc; with SECS, waits up to SECS for
//!                                none to be left; exits 0 when none are left
//!   testkit inspect [--to FILE]  prints its own signal state, descriptors, process group,
//!                                terminal group, ids and groups, args and environment
//!                                (as hex), and last whether setuid(0) works for it
//!   testkit pgrp                 prints "pid pgid" for itself
//!   testkit listen               socket activation as sd_listen_fds(3) has it: only when
//!                                LISTEN_PID is its own pid and LISTEN_FDS at least 1,
//!                                accepts one connection on fd 3 and answers "pid P
//!                                LISTEN_PID=... LISTEN_FDS=... LISTEN_FDNAMES=...",
//!                                exits 0; else says why on stderr and exits 1
//!   testkit graceful DIR         an app that counts the SIGTERMs it gets (a "term" line
//!                                each in DIR/terms) and takes the first as "shut down
//!                                gracefully" (a second of clean-up, then "done" in
//!                                DIR/cleanup, exit 0) and a second as "quit now" (exit 1
//!                                at once, no clean-up), as controller-runtime and Node's
//!                                `process.once('SIGTERM')` do; DIR/up once it handles
//!                                SIGTERM
//!   testkit ignoring SIGNO CMD...  runs CMD (exec) with signal SIGNO ignored
//!   testkit fork-loop FILE       ignores SIGTERM, SIGINT and SIGHUP, creates FILE, then
//!                                forks and exits, over and over: a process whose pid
//!                                changes faster than anyone can list it; only SIGKILL
//!                                of its whole group ends it
//!   testkit seccomp ERRNO SYSCALLS CMD...
//!                                installs a seccomp filter under which each of the
//!                                comma-separated SYSCALLS fails with ERRNO (EPERM,
//!                                ENOSYS or a number), then runs CMD (exec): a hardened
//!                                container's profile. `mprotect=none` denies only
//!                                mprotect(..., PROT_NONE); landlock_create_ruleset,
//!                                landlock_add_rule and landlock_restrict_self are known
//!   testkit eat-memory [FILE]    (once FILE exists) takes memory a MiB at a time, each
//!                                page written, and never gives it back: only the
//!                                out-of-memory killer (or a signal) ends it
//!   testkit tcp bind|connect PORT  binds 127.0.0.1:PORT or connects to it; prints
//!                                "tcp WHAT PORT: ok" (exit 0) or the error (exit 1)
//!   testkit abstract-connect NAME  connects to the abstract unix socket NAME; the same
//!   testkit bench MODE [N]       the application of reaper's benchmark (bench/), under
//!                                each init: idle, storm N, backlog N (bench_app.rs)
//!
//! Written against raw syscalls for the signal masks, as reaper is, so that the real-time
//! signals the C library keeps for itself (32 to 34) can be caught too.

#![no_main]
#![allow(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block,
    reason = "the two lints hold reaper's src/ to its sys layer's rules; test code makes raw calls freely"
)]

mod bench_app;
mod bench_wire;
mod sys;

use std::ffi::{CString, OsString};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `no_main`, as reaper: std's start-up would ignore SIGPIPE and fill closed standard
/// descriptors, and `inspect` must report what it inherited.
#[unsafe(no_mangle)]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: the C runtime passes argc valid C strings.
    let all: Vec<OsString> = (0..argc as usize)
        .map(|i| unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) })
        .map(|s| OsString::from_vec(s.to_bytes().to_vec()))
        .collect();
    let _ = ARGS.set(all.clone());
    run(all[1..].to_vec())
}

static ARGS: std::sync::OnceLock<Vec<OsString>> = std::sync::OnceLock::new();

fn run(args: Vec<OsString>) -> i32 {
    let mode = args.first().and_then(|a| a.to_str()).unwrap_or("");
    let rest = &args[1.min(args.len())..];
    let code = match mode {
        "pid1" => pid1(rest),
        "catch" => catch(rest),
        "orphans" => orphans(rest),
        "zombies" => zombies(rest),
        "inspect" => inspect(rest),
        "fork-loop" => fork_loop(rest),
        "ignoring" => ignoring(rest),
        "listen" => listen(),
        "graceful" => graceful(rest),
        "seccomp" => seccomp(rest),
        "tcp" => tcp(rest),
        "abstract-connect" => abstract_connect(rest),
        "eat-memory" => eat_memory(rest),
        "bench" => bench_app::main(rest),
        "pgrp" => {
            // SAFETY: plain queries.
            let (pid, pgid) = unsafe { (libc::getpid(), libc::getpgrp()) };
            println!("{pid} {pgid}");
            0
        }
        _ => {
            eprintln!("testkit: unknown mode '{mode}'");
            2
        }
    };
    let _ = std::io::stdout().flush();
    code
}

fn arg<T: std::str::FromStr>(args: &[OsString], i: usize, what: &str) -> T {
    args.get(i)
        .and_then(|a| a.to_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            eprintln!("testkit: missing or bad {what}");
            std::process::exit(2)
        })
}

fn pid1(cmd: &[OsString]) -> i32 {
    let c_args: Vec<CString> = cmd
        .iter()
        .map(|a| CString::new(a.clone().into_vec()).unwrap())
        .collect();
    let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // An ignored SIGCHLD would make the kernel reap our children for us, and waitpid
    // below would never see CMD's status: take it back to the default here, and ignore it
    // again in the child, so that CMD inherits exactly what we did.
    let sigchld_ignored = sys::set_ignored(libc::SIGCHLD, false);
    // SAFETY: exec or _exit in the child, after async-signal-safe calls only.
    let child = unsafe {
        let pid = libc::fork();
        if pid == 0 {
            if sigchld_ignored {
                sys::set_ignored(libc::SIGCHLD, true);
            }
            libc::execvp(argv[0], argv.as_ptr());
            libc::_exit(127);
        }
        pid
    };
    loop {
        let mut status = 0;
        // SAFETY: a live status int.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == child {
            report_leftovers();
            return if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            };
        }
        if pid < 0 {
            return 1;
        }
    }
}

/// As the namespace's PID 1, lists every other process still there: after reaper's
/// teardown there should be none.
fn report_leftovers() {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    let left: Vec<String> = fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().map(String::from))
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()) && *n != me.to_string())
                .map(|n| {
                    let comm = fs::read_to_string(format!("/proc/{n}/comm")).unwrap_or_default();
                    format!("{n}:{}", comm.trim())
                })
                .collect()
        })
        .unwrap_or_default();
    if !left.is_empty() {
        eprintln!("testkit pid1: leftover processes: {}", left.join(" "));
    }
}

fn append(file: &str, line: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("open log");
    // One write per line: O_APPEND keeps lines from two processes whole.
    f.write_all(format!("{line}\n").as_bytes())
        .expect("write log");
}

fn catch(args: &[OsString]) -> i32 {
    let file: String = arg(args, 0, "FILE");
    let exit_sig: i32 = arg(args, 1, "EXITSIG");
    sys::set_mask(libc::SIG_BLOCK, u64::MAX);
    // SAFETY: the child continues in this same single-threaded program.
    let role = if unsafe { libc::fork() } == 0 {
        "member"
    } else {
        "main"
    };
    append(&file, &format!("{role} ready"));
    let all = u64::MAX;
    loop {
        let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::zeroed();
        // SAFETY: live set and siginfo; no timeout.
        let sig = unsafe {
            libc::syscall(
                libc::SYS_rt_sigtimedwait,
                &all,
                info.as_mut_ptr(),
                std::ptr::null::<libc::timespec>(),
                8,
            )
        } as i32;
        if sig <= 0 {
            continue;
        }
        append(&file, &format!("{role} {sig}"));
        if sig == exit_sig {
            return 0;
        }
    }
}

fn orphans(args: &[OsString]) -> i32 {
    let n: usize = arg(args, 0, "N");
    const PER_PARENT: usize = 100;
    let mut left = n;
    while left > 0 {
        let batch = left.min(PER_PARENT);
        left -= batch;
        let mut fds = [0; 2];
        // SAFETY: a live array for the two descriptors.
        if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
            eprintln!("testkit: pipe failed");
            return 1;
        }
        // SAFETY: the children only make raw syscalls and _exit.
        unsafe {
            let parent = libc::fork();
            if parent == 0 {
                libc::close(fds[0]);
                for _ in 0..batch {
                    if libc::fork() == 0 {
                        // Wait until the parent is gone (the pipe's write end closes), so
                        // that this process exits as an orphan.
                        libc::close(fds[1]);
                        let mut b = 0u8;
                        libc::read(fds[0], (&mut b as *mut u8).cast(), 1);
                        libc::_exit(0);
                    }
                }
                libc::_exit(0);
            }
            libc::close(fds[0]);
            libc::close(fds[1]);
            if parent < 0 {
                eprintln!("testkit: fork failed");
                return 1;
            }
            let mut status = 0;
            libc::waitpid(parent, &mut status, 0);
        }
    }
    0
}

fn count_zombies() -> usize {
    let Ok(dir) = fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| e.file_name().as_bytes().iter().all(u8::is_ascii_digit))
        .filter_map(|e| sys::proc_stat(e.file_name().to_string_lossy()))
        .filter(|stat| stat.state == 'Z')
        .count()
}

fn zombies(args: &[OsString]) -> i32 {
    let secs: f64 = if args.is_empty() {
        0.0
    } else {
        arg(args, 0, "SECS")
    };
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        let n = count_zombies();
        if n == 0 {
            println!("zombies 0");
            return 0;
        }
        if Instant::now() >= deadline {
            println!("zombies {n}");
            return 1;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn ignoring(args: &[OsString]) -> i32 {
    let sig: i32 = arg(args, 0, "SIGNO");
    let c_args: Vec<CString> = args[1..]
        .iter()
        .map(|a| CString::new(a.clone().into_vec()).unwrap())
        .collect();
    let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    sys::set_ignored(sig, true);
    // SAFETY: execvp on valid strings.
    unsafe { libc::execvp(argv[0], argv.as_ptr()) };
    eprintln!("testkit: cannot run {:?}", args.get(1));
    127
}

fn fork_loop(args: &[OsString]) -> i32 {
    let ready: String = arg(args, 0, "FILE");
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        sys::set_ignored(sig, true);
    }
    if fs::write(&ready, "").is_err() {
        return 1;
    }
    loop {
        // SAFETY: the child goes on with this loop; the parent exits at once.
        match unsafe { libc::fork() } {
            0 => continue,
            pid if pid > 0 => unsafe { libc::_exit(0) },
            // Out of processes for the moment: try again.
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

static TERMS: AtomicUsize = AtomicUsize::new(0);
static TERMS_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn count_sigterm(_: libc::c_int) {
    TERMS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: write(2) is async-signal-safe; a static buffer and an open descriptor.
    unsafe {
        libc::write(
            TERMS_FD.load(Ordering::SeqCst),
            b"term\n".as_ptr().cast(),
            5,
        )
    };
}

fn graceful(args: &[OsString]) -> i32 {
    use std::os::fd::IntoRawFd;
    let dir: String = arg(args, 0, "DIR");
    let Ok(terms) = OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{dir}/terms"))
    else {
        eprintln!("testkit graceful: cannot open {dir}/terms");
        return 1;
    };
    TERMS_FD.store(terms.into_raw_fd(), Ordering::SeqCst);
    // SAFETY: a handler that makes async-signal-safe calls only; the C library's
    // sigaction supplies the restorer.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_sigterm as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
    if fs::write(format!("{dir}/up"), "").is_err() {
        return 1;
    }
    let tick = Duration::from_millis(20);
    while TERMS.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(tick);
    }
    for _ in 0..50 {
        if TERMS.load(Ordering::SeqCst) >= 2 {
            return 1;
        }
        std::thread::sleep(tick);
    }
    i32::from(fs::write(format!("{dir}/cleanup"), "done\n").is_err())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn inspect(args: &[OsString]) -> i32 {
    use std::fmt::Write as _;
    // Everything is gathered before the report is written, so that opening the report file
    // (which takes the lowest free descriptor) cannot show up in it.
    let mut out = String::new();
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines() {
        if [
            "SigBlk:", "SigIgn:", "SigCgt:", "PPid:", "Uid:", "Gid:", "Groups:",
        ]
        .iter()
        .any(|k| line.starts_with(k))
        {
            let _ = writeln!(out, "{line}");
        }
    }
    let mut fds: Vec<i32> = fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // The directory being read is itself one of the descriptors; it is closed by now.
    fds.retain(|&fd| {
        // SAFETY: F_GETFD only queries.
        unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
    });
    fds.sort();
    let _ = writeln!(out, "fds: {fds:?}");
    let stat = sys::proc_stat("self");
    let show = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
    let _ = writeln!(
        out,
        "pgrp: {}\nsession: {}\ntpgid: {}",
        show(stat.map(|s| s.pgrp)),
        show(stat.map(|s| s.session)),
        show(stat.map(|s| s.tpgid))
    );
    // SAFETY: getpid has no preconditions.
    let _ = writeln!(out, "pid: {}", unsafe { libc::getpid() });
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let _ = writeln!(out, "cwd: {cwd}");
    for a in ARGS.get().into_iter().flatten() {
        let _ = writeln!(out, "arg: {}", hex(a.as_bytes()));
    }
    for (k, v) in std::env::vars_os() {
        let mut kv = k.into_vec();
        kv.push(b'=');
        kv.extend(v.as_bytes());
        let _ = writeln!(out, "env: {}", hex(&kv));
    }
    // Last, as it may change who we are: whether root can be had back.
    // SAFETY: setuid has no memory-safety preconditions.
    let regained = unsafe { libc::setuid(0) } == 0;
    let _ = writeln!(out, "regain-root: {}", if regained { "yes" } else { "no" });
    match args.first().and_then(|a| a.to_str()) {
        Some("--to") => {
            let file: String = arg(args, 1, "FILE");
            fs::write(file, out).map(|()| 0).unwrap_or(1)
        }
        _ => {
            print!("{out}");
            0
        }
    }
}

fn listen() -> i32 {
    use std::os::fd::FromRawFd;
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let (listen_pid, fds, names) = (var("LISTEN_PID"), var("LISTEN_FDS"), var("LISTEN_FDNAMES"));
    if listen_pid != pid.to_string() {
        eprintln!("testkit listen: LISTEN_PID={listen_pid:?} is not mine ({pid}): no sockets");
        return 1;
    }
    if fds.parse::<i32>().map_or(true, |n| n < 1) {
        eprintln!("testkit listen: LISTEN_FDS={fds:?}: no sockets");
        return 1;
    }
    // SAFETY: accept4 with no address wanted.
    let conn = unsafe {
        libc::accept4(
            3,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC,
        )
    };
    if conn < 0 {
        eprintln!(
            "testkit listen: accept on fd 3: {}",
            std::io::Error::last_os_error()
        );
        return 1;
    }
    // SAFETY: a descriptor accept4 just made, owned by nothing else.
    let mut conn = unsafe { fs::File::from_raw_fd(conn) };
    let answer =
        format!("pid {pid} LISTEN_PID={listen_pid} LISTEN_FDS={fds} LISTEN_FDNAMES={names}\n");
    conn.write_all(answer.as_bytes()).map(|()| 0).unwrap_or(1)
}

/// The audit architecture the filter checks, so that a syscall number is read as this
/// architecture's (a 32-bit call through another ABI has other numbers).
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// One denial: a syscall number, and, if only some calls are denied, an argument (its
/// index and the value of its low 32 bits) that must match.
type Denial = (i64, Option<(u32, u32)>);

fn denial(name: &str) -> Option<Denial> {
    Some(match name {
        "pwritev2" => (libc::SYS_pwritev2, None),
        "rt_sigtimedwait" => (libc::SYS_rt_sigtimedwait, None),
        "signalfd4" => (libc::SYS_signalfd4, None),
        #[cfg(target_arch = "x86_64")]
        "signalfd" => (libc::SYS_signalfd, None),
        "ppoll" => (libc::SYS_ppoll, None),
        #[cfg(target_arch = "x86_64")]
        "poll" => (libc::SYS_poll, None),
        "rt_sigqueueinfo" => (libc::SYS_rt_sigqueueinfo, None),
        "mprotect=none" => (libc::SYS_mprotect, Some((2, libc::PROT_NONE as u32))),
        // The generic numbers, on both architectures this filter knows.
        "landlock_create_ruleset" => (444, None),
        "landlock_add_rule" => (445, None),
        "landlock_restrict_self" => (446, None),
        _ => return None,
    })
}

fn seccomp(args: &[OsString]) -> i32 {
    let errno = match args.first().and_then(|a| a.to_str()) {
        Some("EPERM") => libc::EPERM,
        Some("ENOSYS") => libc::ENOSYS,
        _ => arg(args, 0, "ERRNO"),
    };
    let names: String = arg(args, 1, "SYSCALLS");
    let Some(denials) = names.split(',').map(denial).collect::<Option<Vec<_>>>() else {
        eprintln!("testkit seccomp: unknown syscall in {names:?}");
        return 2;
    };
    const LD_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    // struct seccomp_data: nr at 0, arch at 4, args from 16, 8 bytes each (little-endian:
    // the low half first).
    let deny = libc::SECCOMP_RET_ERRNO | (errno as u32 & libc::SECCOMP_RET_DATA);
    let mut prog = vec![
        op(LD_ABS, 0, 0, 4),
        op(JEQ, 1, 0, AUDIT_ARCH),
        op(RET, 0, 0, libc::SECCOMP_RET_ALLOW),
        op(LD_ABS, 0, 0, 0),
    ];
    for (nr, arg) in denials {
        match arg {
            None => {
                prog.push(op(JEQ, 0, 1, nr as u32));
                prog.push(op(RET, 0, 0, deny));
            }
            Some((index, value)) => {
                prog.push(op(JEQ, 0, 3, nr as u32));
                prog.push(op(LD_ABS, 0, 0, 16 + 8 * index));
                prog.push(op(JEQ, 0, 1, value));
                prog.push(op(RET, 0, 0, deny));
                prog.push(op(LD_ABS, 0, 0, 0));
            }
        }
    }
    prog.push(op(RET, 0, 0, libc::SECCOMP_RET_ALLOW));
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    let c_args: Vec<CString> = args[2.min(args.len())..]
        .iter()
        .map(|a| CString::new(a.clone().into_vec()).unwrap())
        .collect();
    let mut argv: Vec<*const libc::c_char> = c_args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    // SAFETY: prctl with integer arguments, then with a pointer to a live filter program.
    let installed = unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
            && libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &fprog as *const libc::sock_fprog,
            ) == 0
    };
    if !installed {
        eprintln!(
            "testkit seccomp: cannot install the filter: {}",
            std::io::Error::last_os_error()
        );
        return 1;
    }
    // SAFETY: execvp on valid strings.
    unsafe { libc::execvp(argv[0], argv.as_ptr()) };
    eprintln!("testkit: cannot run {:?}", args.get(2));
    127
}

/// `tcp bind|connect PORT`: binds a TCP socket to 127.0.0.1:PORT, or connects to it; says
/// "ok" and exits 0, or prints the error and exits 1 (Landlock's refusal is EACCES,
/// "Permission denied"; nobody listening is "Connection refused").
fn tcp(args: &[OsString]) -> i32 {
    let what = args.first().and_then(|a| a.to_str()).unwrap_or("");
    let port: u16 = arg(args, 1, "PORT");
    let result = match what {
        "bind" => std::net::TcpListener::bind(("127.0.0.1", port)).map(drop),
        "connect" => std::net::TcpStream::connect(("127.0.0.1", port)).map(drop),
        _ => {
            eprintln!("testkit tcp: bind or connect, not {what:?}");
            return 2;
        }
    };
    report_io(&format!("tcp {what} {port}"), result)
}

/// `abstract-connect NAME`: connects to the abstract unix socket NAME.
fn abstract_connect(args: &[OsString]) -> i32 {
    use std::os::linux::net::SocketAddrExt;
    let name: String = arg(args, 0, "NAME");
    let result = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
        .and_then(|addr| std::os::unix::net::UnixStream::connect_addr(&addr))
        .map(drop);
    report_io(&format!("abstract-connect {name}"), result)
}

fn report_io(what: &str, result: std::io::Result<()>) -> i32 {
    match result {
        Ok(()) => {
            println!("{what}: ok");
            0
        }
        Err(e) => {
            println!("{what}: {e}");
            1
        }
    }
}

fn eat_memory(args: &[OsString]) -> i32 {
    if let Some(file) = args.first() {
        while fs::metadata(file).is_err() {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let mut eaten: Vec<Vec<u8>> = Vec::new();
    loop {
        // Written, not only allocated: untouched pages cost no memory.
        let mut mib = vec![0u8; 1 << 20];
        mib.iter_mut().step_by(4096).for_each(|b| *b = 1);
        eaten.push(std::hint::black_box(mib));
    }
}
