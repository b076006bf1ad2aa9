//! What the driver asks of the kernel: PID namespaces made by clone(2), processes started
//! and waited for, the app's messages, and what /proc tells about an init.
//!
//! Every namespace is made as `unshare --pid --fork --mount-proc` makes it (a new PID and
//! mount namespace, / made private, a fresh /proc), but by clone(2) from the driver
//! itself, so that the init is the driver's own child: its CPU clock, /proc entry and exit
//! are read directly, and PR_SET_PDEATHSIG kills the namespace if the driver dies.

use crate::wire::{Msg, SIZE, now_ns};
use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The environment every init starts with.
const CLEAN_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

pub fn sleep_ns(ns: i64) {
    std::thread::sleep(std::time::Duration::from_nanos(ns.max(0) as u64));
}

pub fn cstring(s: impl AsRef<OsStr>) -> CString {
    // An argument with a NUL byte cannot come from a command line; drop what follows it.
    let bytes = s.as_ref().as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).unwrap_or_default()
}

/// A command ready for execve in a forked child: no allocation left to do there.
pub struct Exec {
    path: CString,
    _args: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    _env: CString,
    envp: [*const libc::c_char; 2],
}

impl Exec {
    pub fn new<S: AsRef<OsStr>>(args: &[S]) -> Exec {
        let args: Vec<CString> = args.iter().map(cstring).collect();
        let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let env = cstring(CLEAN_ENV);
        let envp = [env.as_ptr(), std::ptr::null()];
        Exec {
            path: args.first().cloned().unwrap_or_default(),
            _args: args,
            argv,
            _env: env,
            envp,
        }
    }

    /// execve, and _exit(127) if it fails. Async-signal-safe.
    pub fn exec(&self) -> ! {
        // SAFETY: NUL-terminated arrays of live strings.
        unsafe {
            libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
            libc::_exit(127)
        }
    }
}

/// fork() into a new PID namespace (and, with `mount_proc`, a new mount namespace with a
/// fresh /proc); returns like fork. The child may only make raw syscalls before it execs.
pub fn fork_namespace(mount_proc: bool) -> io::Result<libc::pid_t> {
    let flags = libc::CLONE_NEWPID | libc::SIGCHLD | if mount_proc { libc::CLONE_NEWNS } else { 0 };
    // SAFETY: clone without CLONE_VM is fork: the child gets a copy of this
    // single-threaded process.
    let p = unsafe { libc::syscall(libc::SYS_clone, flags, 0, 0, 0, 0) } as libc::pid_t;
    if p < 0 {
        return Err(io::Error::last_os_error());
    }
    if p > 0 {
        return Ok(p);
    }
    // The child: PID 1. If the driver dies, so does the namespace. (getppid() is 0 here,
    // the parent being outside the namespace, so a parent that died before this prctl
    // cannot be told; the driver's watchdog is long, so that never happens.)
    // SAFETY: raw syscalls with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        if mount_proc
            && (libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
                || libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                ) != 0)
        {
            libc::_exit(122);
        }
    }
    Ok(0)
}

/// In a forked child: puts each `(fd, target)` at its target without close-on-exec,
/// whatever numbers they are now (each is moved out of the way first, so that placing one
/// cannot close another).
pub fn place_fds<const N: usize>(fds: [(i32, i32); N]) {
    // SAFETY: descriptor calls on integers.
    let moved = fds.map(|(fd, target)| {
        (
            unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) },
            target,
        )
    });
    for (fd, target) in moved {
        // SAFETY: as above.
        unsafe { libc::dup2(fd, target) };
    }
}

/// In a forked child: stdin and stdout from /dev/null, stderr to `errlog` (appended) or
/// /dev/null. Every descriptor opened here is close-on-exec, the three it fills are not.
pub fn redirect_stdio(errlog: Option<&CString>) {
    // SAFETY: open and dup2 on live strings and integers.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        let err = match errlog {
            Some(path) => libc::open(
                path.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_APPEND | libc::O_CLOEXEC,
                0o644,
            ),
            None => -1,
        };
        libc::dup2(null, 0);
        libc::dup2(null, 1);
        libc::dup2(if err >= 0 { err } else { null }, 2);
    }
}

/// A pipe, both ends close-on-exec: (read, write).
pub fn pipe() -> io::Result<(i32, i32)> {
    let mut fds = [0; 2];
    // SAFETY: a live array for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((fds[0], fds[1]))
}

pub fn close(fd: i32) {
    // SAFETY: a descriptor of ours.
    unsafe { libc::close(fd) };
}

pub fn kill(pid: libc::pid_t, sig: i32) -> bool {
    // SAFETY: a plain syscall.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// waitpid, again on EINTR: the raw status, or None.
pub fn wait(pid: libc::pid_t, flags: i32) -> Option<(libc::pid_t, i32)> {
    let mut st = 0;
    loop {
        // SAFETY: a live status int.
        let r = unsafe { libc::waitpid(pid, &mut st, flags) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        return (r >= 0).then_some((r, st));
    }
}

/// Its exit status, or -1 if it did not exit.
pub fn exit_code(st: i32) -> i32 {
    if libc::WIFEXITED(st) {
        libc::WEXITSTATUS(st)
    } else {
        -1
    }
}

pub fn send(fd: i32, tag: u8) -> bool {
    let m = Msg::new(tag, 0, 0, 0, 0).encode();
    loop {
        // SAFETY: a live buffer of SIZE bytes.
        let w = unsafe { libc::write(fd, m.as_ptr().cast(), SIZE) };
        if w < 0 && errno() == libc::EINTR {
            continue;
        }
        return w == SIZE as isize;
    }
}

/// One message, or None on timeout, EOF or error.
pub fn recv(fd: i32, timeout_ns: i64) -> Option<Msg> {
    let deadline = now_ns() + timeout_ns;
    let mut m = [0u8; SIZE];
    let mut got = 0;
    while got < SIZE {
        let left = deadline - now_ns();
        if left <= 0 {
            return None;
        }
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one live pollfd.
        let r = unsafe { libc::poll(&mut p, 1, (left / 1_000_000 + 1) as i32) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        if r <= 0 {
            return None;
        }
        // SAFETY: the rest of a live buffer.
        let n = unsafe { libc::read(fd, m[got..].as_mut_ptr().cast(), SIZE - got) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            return None;
        }
        got += n as usize;
    }
    Some(Msg::decode(&m))
}

/// A `Name:` field of /proc/PID/status as a number (kB for memory), or None.
pub fn status_field(pid: libc::pid_t, field: &str) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

pub fn ctx_switches(pid: libc::pid_t) -> Option<i64> {
    Some(
        status_field(pid, "voluntary_ctxt_switches")?
            + status_field(pid, "nonvoluntary_ctxt_switches")?,
    )
}

/// The init's CPU time (user + system) in ns, from its CPU-time clock: exact, unlike the
/// clock ticks of /proc/PID/stat.
pub fn cpu_ns(pid: libc::pid_t) -> Option<i64> {
    let mut clock: libc::clockid_t = 0;
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: live out-parameters.
    let ok = unsafe {
        libc::clock_getcpuclockid(pid, &mut clock) == 0 && libc::clock_gettime(clock, &mut t) == 0
    };
    ok.then(|| t.tv_sec * 1_000_000_000 + t.tv_nsec)
}

fn proc_stat(pid: impl std::fmt::Display) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/stat")).ok()
}

/// The state letter of `pid` (field 3 of /proc/PID/stat), read with reaper's own parser.
pub fn state(pid: libc::pid_t) -> Option<u8> {
    crate::stat::Fields::of(&proc_stat(pid)?)?.state()
}

/// The init's only child, the app, as this (the host's) PID namespace numbers it.
pub fn child_of(parent: libc::pid_t) -> Option<libc::pid_t> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .find_map(|e| {
            let pid: libc::pid_t = e.file_name().to_str()?.parse().ok()?;
            let stat = proc_stat(pid)?;
            let ppid: libc::pid_t = crate::stat::Fields::of(&stat)?.parse(4)?;
            (ppid == parent).then_some(pid)
        })
}

/// Whether the ELF file at `path` is static (no program interpreter, PT_INTERP: nothing is
/// loaded before it runs); None if it is no 64-bit ELF file.
pub fn elf_is_static(path: &Path) -> Option<bool> {
    let elf = std::fs::read(path).ok()?;
    let u16_at = |i: usize| Some(u16::from_le_bytes(elf.get(i..i + 2)?.try_into().ok()?));
    let u32_at = |i: usize| Some(u32::from_le_bytes(elf.get(i..i + 4)?.try_into().ok()?));
    let u64_at = |i: usize| Some(u64::from_le_bytes(elf.get(i..i + 8)?.try_into().ok()?));
    // The magic, 64-bit (ELFCLASS64), little-endian (ELFDATA2LSB).
    if elf.get(0..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let (phoff, phentsize, phnum) = (
        u64_at(0x20)? as usize,
        u16_at(0x36)? as usize,
        u16_at(0x38)?,
    );
    const PT_INTERP: u32 = 3;
    for i in 0..usize::from(phnum) {
        if u32_at(phoff + i * phentsize)? == PT_INTERP {
            return Some(false);
        }
    }
    Some(true)
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [(); 3].map(|()| it.next().unwrap_or(0.0))
}
