//! `testkit bench MODE [N]`: the application reaper's benchmark (bench/) runs under each
//! init. It talks to the driver on fd 3 (writes) and fd 4 (reads), in the messages of
//! bench_wire.rs; what each figure means is in doc/performance.md.
//!
//!   idle        says R (its pid), then waits for X (or EOF); on SIGUSR1 it says S with the
//!               time its handler ran
//!   storm N     says R, waits for G, then a spawner forks N children, each of which forks
//!               a grandchild and exits at once: N orphans, reparented to PID 1, that exit
//!               at once too. Says D with N (-1 if it failed), the start, the time the
//!               spawner was done and the time the last orphan was seen reaped; waits for X
//!   backlog N   says R, waits for G (the driver has SIGSTOPped the init), then a spawner
//!               forks N children that exit at once, waits (WNOWAIT) until each is a
//!               zombie and exits: N zombies for the stopped init. Says P, then (the
//!               driver SIGCONTs the init) D with the time the last was seen reaped
//!
//! Every fork child makes raw syscalls only and ends in _exit.

use crate::bench_wire::{Msg, SIZE, now_ns};
use std::ffi::OsString;

const OUT: i32 = 3;
const IN: i32 = 4;
/// How long the app waits for an init to reap everything.
const REAP_DEADLINE_NS: i64 = 120_000_000_000;

fn send(tag: u8, n: i32, a: i64, b: i64, c: i64) {
    let m = Msg::new(tag, n, a, b, c).encode();
    loop {
        // SAFETY: a live buffer of SIZE bytes.
        let w = unsafe { libc::write(OUT, m.as_ptr().cast(), SIZE) };
        if w >= 0 || errno() != libc::EINTR {
            return;
        }
    }
}

/// One whole message from the driver; `None` on EOF or an error.
fn recv() -> Option<Msg> {
    let mut m = [0u8; SIZE];
    loop {
        // SAFETY: a live buffer of SIZE bytes.
        let n = unsafe { libc::read(IN, m.as_mut_ptr().cast(), SIZE) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        return (n == SIZE as isize).then(|| Msg::decode(&m));
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn sleep_ns(ns: i64) {
    std::thread::sleep(std::time::Duration::from_nanos(ns.max(0) as u64));
}

extern "C" fn on_usr1(_: libc::c_int) {
    // SAFETY: the thread's errno, saved and restored around the handler's write.
    let saved = unsafe { *libc::__errno_location() };
    send(b'S', 0, now_ns(), 0, 0);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

/// Blocks until the driver says X or goes away.
fn wait_exit() {
    while let Some(m) = recv() {
        if m.tag == b'X' {
            return;
        }
    }
}

fn wait_go() -> bool {
    while let Some(m) = recv() {
        if m.tag == b'G' {
            return true;
        }
    }
    false
}

/// Waits until `pid` is reaped (or was already). A pidfd polled for no event wakes with
/// POLLHUP exactly when its parent releases it (Linux 6.9 and later); older kernels fall
/// back to probing with kill(pid, 0), which succeeds on a zombie. Either way the app
/// sleeps rather than spinning beside the init on a small machine.
fn wait_reaped(pid: libc::pid_t, deadline: i64) -> bool {
    // SAFETY: a plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    if fd < 0 && errno() == libc::ESRCH {
        return true;
    }
    if fd >= 0 {
        let reaped = loop {
            let left = deadline - now_ns();
            if left <= 0 {
                // SAFETY: our own descriptor.
                unsafe { libc::close(fd) };
                return false;
            }
            let mut p = libc::pollfd {
                fd,
                events: 0,
                revents: 0,
            };
            // SAFETY: one live pollfd.
            let r = unsafe { libc::poll(&mut p, 1, (left / 1_000_000 + 1) as i32) };
            if r > 0 {
                // Without POLLHUP on reap (an older kernel), probe below.
                break p.revents & libc::POLLHUP != 0;
            }
            if r < 0 && errno() != libc::EINTR {
                break false;
            }
        };
        // SAFETY: our own descriptor.
        unsafe { libc::close(fd) };
        if reaped {
            return true;
        }
    }
    // SAFETY: signal 0 only probes.
    while unsafe { libc::kill(pid, 0) } == 0 {
        if now_ns() > deadline {
            return false;
        }
        sleep_ns(50_000);
    }
    true
}

/// Waits until every pid in `pids`, then every process of the namespace but PID 1 and us,
/// is gone. Once the spawner has stopped forking no pid is reused, so a pid that is still
/// there belongs to a process that still has to be reaped. Returns the time the last one
/// was seen gone, or `None` at the deadline.
fn wait_all_reaped(pids: &[libc::pid_t], from_last: bool, deadline: i64) -> Option<i64> {
    // A backlog is reaped in fork order (the kernel keeps the children list in order and
    // waitpid(-1) takes the first zombie), so its last pid goes last: one wake-up.
    if from_last && !pids.is_empty() && !wait_reaped(pids[pids.len() - 1], deadline) {
        return None;
    }
    for &pid in pids {
        if pid > 0 && !wait_reaped(pid, deadline) {
            return None;
        }
    }
    // kill(-1, 0) reaches every process of the namespace but PID 1 and the caller: ESRCH
    // means not a zombie is left.
    // SAFETY: signal 0 only probes.
    while unsafe { libc::kill(-1, 0) } == 0 {
        if now_ns() > deadline {
            return None;
        }
        sleep_ns(50_000);
    }
    Some(now_ns())
}

fn fork_retry() -> libc::pid_t {
    for _ in 0..2000 {
        // SAFETY: the child makes raw syscalls only and ends in _exit.
        let p = unsafe { libc::fork() };
        if p >= 0 || errno() != libc::EAGAIN {
            return p;
        }
        sleep_ns(1_000_000);
    }
    -1
}

/// The `n` shared pids, once the app has told the bench it is ready and the bench has
/// said go; the app's exit code where either fails (70: no mapping, 71: no go).
fn ready(n: usize) -> Result<&'static mut [libc::pid_t], i32> {
    let Some(pids) = shared_pids(n) else {
        return Err(70);
    };
    // SAFETY: getpid has no preconditions.
    send(b'R', unsafe { libc::getpid() }, 0, 0, 0);
    if !wait_go() {
        return Err(71);
    }
    Ok(pids)
}

/// Waits, if the spawner did its part (`ok`), until `pids` are reaped (`from_last` as
/// `wait_all_reaped` takes it) and tells the bench: 'D' with the count, or -1 where they
/// were not, `a` and `b`, and the time the last one went.
fn send_reaped(ok: bool, pids: &[libc::pid_t], from_last: bool, a: i64, b: i64) {
    let t1 = if ok {
        wait_all_reaped(pids, from_last, now_ns() + REAP_DEADLINE_NS)
    } else {
        None
    };
    let done = if t1.is_some() { pids.len() as i32 } else { -1 };
    send(b'D', done, a, b, t1.unwrap_or(-1));
}

/// `n` pids, shared with the spawner and its children (who fill them in).
fn shared_pids(n: usize) -> Option<&'static mut [libc::pid_t]> {
    let len = std::mem::size_of::<libc::pid_t>() * (n + 1);
    // SAFETY: a fresh anonymous mapping, never unmapped (the app exits after one use).
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: the mapping holds n + 1 zeroed pids and lives as long as the process.
    Some(unsafe { std::slice::from_raw_parts_mut(p.cast(), n) })
}

/// Waits for the spawner; whether it exited 0, and its exit status (-1 if killed).
fn wait_spawner(spawner: libc::pid_t) -> (bool, i32) {
    let mut st = 0;
    // SAFETY: a live status int.
    while spawner > 0 && unsafe { libc::waitpid(spawner, &mut st, 0) } < 0 && errno() == libc::EINTR
    {
    }
    let code = if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        -1
    };
    (spawner > 0 && code == 0, code)
}

fn storm(n: usize) -> i32 {
    let pids = match ready(n) {
        Ok(pids) => pids,
        Err(code) => return code,
    };
    let t0 = now_ns();
    // SAFETY: the children make raw syscalls only and end in _exit.
    unsafe {
        let spawner = libc::fork();
        if spawner == 0 {
            for pid in pids.iter_mut() {
                let c = fork_retry();
                if c == 0 {
                    let g = fork_retry();
                    if g == 0 {
                        libc::_exit(0);
                    }
                    *pid = g;
                    libc::_exit(0);
                }
                if c < 0 {
                    libc::_exit(72);
                }
                while libc::waitpid(c, std::ptr::null_mut(), 0) < 0 && errno() == libc::EINTR {}
            }
            libc::_exit(0);
        }
        let (ok, _) = wait_spawner(spawner);
        let spawned = now_ns();
        send_reaped(ok, pids, false, t0, spawned);
    }
    wait_exit();
    0
}

fn backlog(n: usize) -> i32 {
    let pids = match ready(n) {
        Ok(pids) => pids,
        Err(code) => return code,
    };
    // SAFETY: the children make raw syscalls only and end in _exit.
    unsafe {
        let spawner = libc::fork();
        if spawner == 0 {
            for pid in pids.iter_mut() {
                let c = fork_retry();
                if c == 0 {
                    libc::_exit(0);
                }
                if c < 0 {
                    libc::_exit(73);
                }
                *pid = c;
            }
            for &pid in pids.iter() {
                let mut info = std::mem::zeroed::<libc::siginfo_t>();
                while libc::waitid(
                    libc::P_PID,
                    pid as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOWAIT,
                ) != 0
                {
                    if errno() != libc::EINTR {
                        libc::_exit(74);
                    }
                }
            }
            libc::_exit(0);
        }
        let (ok, code) = wait_spawner(spawner);
        send(b'P', if ok { n as i32 } else { -1 }, i64::from(code), 0, 0);
        send_reaped(ok, pids, true, 0, 0);
    }
    wait_exit();
    0
}

pub fn main(args: &[OsString]) -> i32 {
    let mode = args.first().and_then(|a| a.to_str()).unwrap_or("");
    let n: usize = args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: prctl with integer arguments; a handler that only writes and reads the clock.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut());
    }
    match mode {
        "idle" => {
            // SAFETY: getpid has no preconditions.
            send(b'R', unsafe { libc::getpid() }, 0, 0, 0);
            wait_exit();
            0
        }
        "storm" if n > 0 => storm(n),
        "backlog" if n > 0 => backlog(n),
        _ => {
            eprintln!("testkit bench: usage: testkit bench idle | storm N | backlog N");
            64
        }
    }
}
