//! The child from clone to exec, and what `spawn` reads from the kernel before: reaper's
//! own ids and environment. What the child does and why is `spawn`'s doc; this is how.
//!
//! The child is created with `clone(CLONE_VM | CLONE_VFORK)` and runs in reaper's memory,
//! on a stack of its own, while reaper waits. Everything it reads is prepared before the
//! clone (`Plan`, and the pointer arrays `spawn` builds from it), and it writes only the
//! atomics of `Shared`, the slot of the shell's argv, and the digits of its pid after
//! `LISTEN_PID=`. Between clone and exec it must not allocate, log or take a lock: the
//! allocator's and the logger's locks may be held by nobody (reaper is single-threaded)
//! but their memory is reaper's. So it makes only these calls, each one a single system
//! call that takes the lock of nothing in user space and touches only memory prepared
//! before the clone, which is what async-signal-safe means (signal-safety(7) lists all
//! but the raw ones, which are plain syscall instructions):
//!
//! - `setpgid`, `getpid`, `tcsetpgrp` (nix's wrappers: one libc call each, no allocation);
//! - `setgroups`, `setresgid`, `setresuid`, `getresuid`, `getresgid`, `getgroups`, `setuid`,
//!   raw: the C libraries' wrappers broadcast an id change to every thread of the process
//!   (glibc's SIGSETXID, musl's `__synccall`), which a child in reaper's memory must not do;
//! - `chdir`, `open`, `read`, `close` (nix's wrappers and `OwnedFd`'s drop, on a `CStr`, no
//!   allocation);
//! - `rt_sigaction` and `rt_sigprocmask` (`sys::signal`, raw: the kernel's 64-bit set);
//! - `prctl(PR_SET_NO_NEW_PRIVS)` (nix's wrapper) and `landlock_restrict_self` (raw:
//!   `sys::landlock`), with the Landlock options only, the ruleset built before the clone;
//! - `execve`, raw: nix's builds its pointer arrays, which allocates;
//! - `_exit`, raw: nix has none, and `std::process::exit` runs exit handlers.
//!
//! The C library's wrappers set errno, which the child shares with reaper (it has no TLS
//! of its own); reaper reads errno only after a failing call of its own.

use std::ffi::{CStr, CString};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::Pid;

use crate::error::{Error, describe};
use crate::signo::SigSet;
use crate::status;
use crate::sys::signal;
use crate::user::Current;

/// What runs a file the kernel cannot execute (ENOEXEC, a script without `#!`), as execvp
/// and every shell run it: `/bin/sh FILE ARGS...`.
pub const SHELL: &CStr = c"/bin/sh";

/// How much of such a file is read to tell a script from a binary (bash's figure).
const SAMPLE: usize = 80;

/// The stack the child runs on while reaper waits: the child only makes a few syscalls.
const CHILD_STACK: usize = 32 * 1024;

/// `LISTEN_PID=`, then room for the digits of any pid and the NUL.
const LISTEN_PID: &[u8] = b"LISTEN_PID=";
type ListenPidBuffer = [libc::c_char; 32];

/// The exit status of a child that never got to exec because the user switch or the
/// working directory failed: "reaper cannot start COMMAND", as gosu and su-exec exit 1.
const SETUP_FAILED: i32 = status::FAILED as i32;

/// What the child does, prepared before the clone: every allocation is made by then.
pub struct Plan<'a> {
    /// The paths to try, in order.
    pub candidates: &'a [CString],
    pub argv: &'a [CString],
    /// The application's environment; `None` is a `LISTEN_PID=` entry the child completes
    /// with its own pid.
    pub envp: &'a [Option<&'a CStr>],
    /// The terminal whose foreground the app's group gets.
    pub terminal: Option<BorrowedFd<'a>>,
    /// The mask the application gets.
    pub mask: SigSet,
    /// SIGCHLD is ignored again before exec.
    pub ignore_sigchld: bool,
    /// `--user`: whom the child becomes before exec; `None`: it stays who reaper is.
    pub switch: Option<&'a Switch>,
    /// `--workdir`, changed to after the switch.
    pub workdir: Option<&'a CStr>,
    /// The Landlock ruleset the child confines itself with, last before exec, and whether
    /// a failure to is only noted (`--sandbox-best-effort`) rather than fatal.
    pub landlock: Option<(BorrowedFd<'a>, bool)>,
}

/// The ids of an `Identity`, as the child's raw calls take them.
pub struct Switch {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
    /// reaper's ids already are `uid` and `gid`, only the groups differ: if the kernel
    /// refuses to set them (no CAP_SETGID: `docker run --user`, Kubernetes' `runAsUser`),
    /// the groups the runtime gave are kept, as they would be without `--user`.
    pub groups_may_stay: bool,
}

/// The child's steps that can fail, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    Exec = 0,
    SetGroups,
    SetGid,
    SetUid,
    /// The real, effective and saved ids, or the number of groups, are not the new ones.
    CheckIds,
    /// setuid(0) succeeded after the switch: root could be regained.
    RegainRoot,
    Workdir,
    /// The file was no executable the kernel knows (ENOEXEC) and `/bin/sh` could not be
    /// executed to run it as a script.
    Shell,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`, which Landlock needs of an unprivileged process.
    NoNewPrivs,
    /// `landlock_restrict_self`.
    Landlock,
}

impl Step {
    fn from_u8(n: u8) -> Step {
        [
            Step::SetGroups,
            Step::SetGid,
            Step::SetUid,
            Step::CheckIds,
            Step::RegainRoot,
            Step::Workdir,
            Step::Shell,
            Step::NoNewPrivs,
            Step::Landlock,
        ]
        .into_iter()
        .find(|s| *s as u8 == n)
        .unwrap_or(Step::Exec)
    }
}

/// What the child left behind when clone returned.
pub struct Outcome {
    /// The step that failed (`Step::Exec` when none but exec did), with its errno: 0 when
    /// the child exec'd.
    pub step: Step,
    pub errno: Errno,
    /// reaper already ran with the user's ids and could not set the groups: the child kept
    /// reaper's.
    pub kept_groups: bool,
    /// With `--sandbox-best-effort`, the step that could not confine the child and its
    /// errno; the app runs unconfined.
    pub unconfined: Option<(Step, Errno)>,
}

/// The system call numbers of the switch. The 32-bit architectures keep 16-bit ids under
/// the plain numbers.
#[cfg(any(target_arch = "x86", target_arch = "arm"))]
mod nr {
    pub use libc::{
        SYS_getgroups32 as GETGROUPS, SYS_getresgid32 as GETRESGID, SYS_getresuid32 as GETRESUID,
        SYS_setgroups32 as SETGROUPS, SYS_setresgid32 as SETRESGID, SYS_setresuid32 as SETRESUID,
        SYS_setuid32 as SETUID,
    };
}
#[cfg(not(any(target_arch = "x86", target_arch = "arm")))]
mod nr {
    pub use libc::{
        SYS_getgroups as GETGROUPS, SYS_getresgid as GETRESGID, SYS_getresuid as GETRESUID,
        SYS_setgroups as SETGROUPS, SYS_setresgid as SETRESGID, SYS_setresuid as SETRESUID,
        SYS_setuid as SETUID,
    };
}

/// What the child reads and writes: the plan, its pointer arrays, and the atomics it
/// reports through.
struct Shared<'a> {
    plan: &'a Plan<'a>,
    /// `plan.argv`, NULL-terminated.
    argv: Vec<*const libc::c_char>,
    /// `/bin/sh`, a slot for the file that exec refused with ENOEXEC (the child fills it
    /// in), then argv[1..], NULL-terminated; `spawn` owns the array.
    sh_argv: *mut *const libc::c_char,
    /// `plan.envp`, NULL-terminated, its `None`s pointing at `listen_pid`.
    envp: Vec<*const libc::c_char>,
    /// The buffer the child completes with its pid, when `plan.envp` has a `None`; else null.
    listen_pid: *mut ListenPidBuffer,
    /// The errno of the last failed step; 0 while none failed.
    errno: AtomicI32,
    /// Which step failed (a `Step`), with `errno`; `Step::Exec` while none but exec did.
    step: AtomicU8,
    kept_groups: AtomicBool,
    /// `--sandbox-best-effort`: the step that could not confine the child, and its errno
    /// (0: none failed).
    unconfined_step: AtomicU8,
    unconfined_errno: AtomicI32,
}

/// Starts the child as `plan` says. Returns its pid and what it left behind; `Err` only
/// when there is no child at all.
pub fn spawn(plan: &Plan<'_>) -> Result<(libc::pid_t, Outcome), Error> {
    let argv = null_terminated(plan.argv.iter().map(|a| a.as_c_str()));
    let mut sh_argv = shell_argv(&argv);
    let mut buffer = listen_pid_buffer();
    let buffer: *mut ListenPidBuffer = &mut buffer;
    let envp = env_pointers(plan.envp, buffer);
    let shared = Shared {
        plan,
        argv,
        sh_argv: sh_argv.as_mut_ptr(),
        envp,
        listen_pid: match plan.envp.contains(&None) {
            true => buffer,
            false => std::ptr::null_mut(),
        },
        errno: AtomicI32::new(0),
        step: AtomicU8::new(Step::Exec as u8),
        kept_groups: AtomicBool::new(false),
        unconfined_step: AtomicU8::new(Step::Exec as u8),
        unconfined_errno: AtomicI32::new(0),
    };
    let stack = ChildStack::map()?;
    // clone stays raw: nix's `clone` takes a boxed closure and its own stack slice, and
    // offers no CLONE_VFORK child that shares reaper's memory by design.
    // SAFETY: with CLONE_VFORK this thread is suspended until the child has exec'd or
    // exited, so the child has the stack, `shared`, `sh_argv` and the buffer to itself and
    // they outlive it. `child_main` makes only the async-signal-safe calls listed above,
    // on memory prepared above, and never returns. reaper has no signal handlers, so none
    // can run in the child on reaper's memory.
    let pid = unsafe {
        libc::clone(
            child_main,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &shared as *const Shared as *mut libc::c_void,
        )
    };
    if pid < 0 {
        return Err(Error::failed("fork", Errno::last()));
    }
    Ok((pid, shared.outcome()))
}

impl Shared<'_> {
    /// What the child left in the atomics, read once clone has returned.
    fn outcome(&self) -> Outcome {
        Outcome {
            step: Step::from_u8(self.step.load(Ordering::Acquire)),
            errno: Errno::from_raw(self.errno.load(Ordering::Acquire)),
            kept_groups: self.kept_groups.load(Ordering::Acquire),
            unconfined: match self.unconfined_errno.load(Ordering::Acquire) {
                0 => None,
                errno => Some((
                    Step::from_u8(self.unconfined_step.load(Ordering::Acquire)),
                    Errno::from_raw(errno),
                )),
            },
        }
    }
}

/// The argv of `/bin/sh FILE ARGS...`: `/bin/sh`, the slot the child fills with the file,
/// `argv[1..]` and its NULL (`argv` is NULL-terminated).
fn shell_argv(argv: &[*const libc::c_char]) -> Vec<*const libc::c_char> {
    let null = std::ptr::null::<libc::c_char>();
    let mut sh_argv = vec![SHELL.as_ptr(), null];
    match argv.split_first() {
        Some((_, tail)) if !tail.is_empty() => sh_argv.extend_from_slice(tail),
        _ => sh_argv.push(null),
    }
    sh_argv
}

/// `LISTEN_PID=`, followed by NULs the child overwrites with its pid.
fn listen_pid_buffer() -> ListenPidBuffer {
    let mut buffer: ListenPidBuffer = [0; 32];
    for (to, &from) in buffer.iter_mut().zip(LISTEN_PID) {
        *to = from as libc::c_char;
    }
    buffer
}

/// `envp` as exec takes it, NULL-terminated, its `None`s pointing at `buffer`.
fn env_pointers(envp: &[Option<&CStr>], buffer: *mut ListenPidBuffer) -> Vec<*const libc::c_char> {
    let mut pointers = Vec::with_capacity(envp.len() + 1);
    for entry in envp {
        pointers.push(entry.map_or(buffer.cast_const().cast(), CStr::as_ptr));
    }
    pointers.push(std::ptr::null());
    pointers
}

/// `strings` as exec takes them: pointers, then NULL.
fn null_terminated<'a>(
    strings: impl ExactSizeIterator<Item = &'a CStr>,
) -> Vec<*const libc::c_char> {
    let mut pointers = Vec::with_capacity(strings.len() + 1);
    pointers.extend(strings.map(CStr::as_ptr));
    pointers.push(std::ptr::null());
    pointers
}

/// The child: set up, exec, or record why not and exit with 127 or 126.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `Shared` that `spawn` keeps alive until we exec or exit.
    let shared = unsafe { &*(arg as *const Shared) };
    let plan = shared.plan;
    let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
    if let Some(tty) = plan.terminal {
        // Every signal is still blocked here, SIGTTOU included, so this cannot stop us.
        let _ = nix::unistd::tcsetpgrp(tty, nix::unistd::getpid());
    }
    if let Err((step, errno)) = switch_and_chdir(shared) {
        report(shared, step, errno);
        exit(SETUP_FAILED);
    }
    if let Some((ruleset, best_effort)) = plan.landlock
        && let Err((step, errno)) = confine(ruleset)
    {
        if !best_effort {
            report(shared, step, errno);
            // Fail closed, with the status of a restriction that cannot be applied.
            exit(i32::from(status::USAGE));
        }
        shared.unconfined_step.store(step as u8, Ordering::Release);
        shared.unconfined_errno.store(errno, Ordering::Release);
    }
    if plan.ignore_sigchld {
        signal::set_disposition(libc::SIGCHLD, libc::SIG_IGN);
    }
    signal::set_mask(plan.mask);
    // SAFETY: null, or spawn's buffer, which outlives the child and which nothing else
    // reads or writes while the child runs (reaper waits).
    if let Some(buffer) = unsafe { shared.listen_pid.as_mut() } {
        complete_listen_pid(buffer);
    }
    let (step, errno) = exec_first(shared);
    report(shared, step, errno);
    exit(match step {
        // The file was found: it is the shell that is missing or broken.
        Step::Shell => i32::from(status::CANNOT_RUN),
        _ => i32::from(status::of_exec_error(Errno::from_raw(errno))),
    })
}

#[inline(always)]
fn report(shared: &Shared, step: Step, errno: i32) {
    shared.errno.store(errno, Ordering::Release);
    shared.step.store(step as u8, Ordering::Release);
}

/// Ends the child at once (`_exit`): no exit handlers, no flush of reaper's buffers.
#[inline(always)]
fn exit(status: i32) -> ! {
    // SAFETY: _exit has no preconditions; it returns to nothing.
    unsafe { libc::_exit(status) }
}

/// Confines the child with Landlock: no_new_privs (an unprivileged process may not restrict
/// itself without it; it also keeps setuid programs from gaining privileges), then the
/// ruleset. Two system calls, async-signal-safe, no allocation.
fn confine(ruleset: BorrowedFd) -> Result<(), (Step, i32)> {
    nix::sys::prctl::set_no_new_privs().map_err(|e| (Step::NoNewPrivs, e as i32))?;
    super::landlock::restrict_self(ruleset).map_err(|e| (Step::Landlock, e))
}

/// The user switch (groups, gid, uid, in that order, then checked) and the working
/// directory, as the child does them: the step that failed and its errno, if one did.
fn switch_and_chdir(shared: &Shared) -> Result<(), (Step, i32)> {
    if let Some(s) = shared.plan.switch {
        let (uid, gid) = (s.uid, s.gid);
        let mut kept_groups = false;
        if let Err(errno) = set_groups(&s.groups) {
            if !(s.groups_may_stay && errno == libc::EPERM) {
                return Err((Step::SetGroups, errno));
            }
            kept_groups = true;
            shared.kept_groups.store(true, Ordering::Release);
        }
        raw_id_call(nr::SETRESGID, [gid; 3]).map_err(|e| (Step::SetGid, e))?;
        raw_id_call(nr::SETRESUID, [uid; 3]).map_err(|e| (Step::SetUid, e))?;
        let got_u = get_res_ids(nr::GETRESUID);
        let got_g = get_res_ids(nr::GETRESGID);
        // SAFETY: a size of 0 asks for the count only, and writes nothing.
        let count = unsafe { libc::syscall(nr::GETGROUPS, 0, std::ptr::null_mut::<libc::gid_t>()) };
        if got_u != Ok([uid; 3])
            || got_g != Ok([gid; 3])
            || (!kept_groups && usize::try_from(count).ok() != Some(s.groups.len()))
        {
            return Err((Step::CheckIds, 0));
        }
        // The kernel lets a process go back to root only while one of its uids is 0.
        // SAFETY: an integer argument only.
        if uid != 0 && unsafe { libc::syscall(nr::SETUID, 0) } == 0 {
            return Err((Step::RegainRoot, 0));
        }
    }
    if let Some(dir) = shared.plan.workdir {
        nix::unistd::chdir(dir).map_err(|e| (Step::Workdir, e as i32))?;
    }
    Ok(())
}

/// `setgroups(groups)`, raw (see the module's doc); `Err` with the errno.
#[inline(always)]
fn set_groups(groups: &[libc::gid_t]) -> Result<(), i32> {
    // SAFETY: the kernel reads `groups.len()` gids from a live slice.
    let r = unsafe { libc::syscall(nr::SETGROUPS, groups.len(), groups.as_ptr()) };
    if r == 0 {
        Ok(())
    } else {
        Err(Errno::last_raw())
    }
}

/// `setresuid` or `setresgid` (`call`) to `ids`, raw (see the module's doc).
#[inline(always)]
fn raw_id_call(call: libc::c_long, [r, e, s]: [libc::uid_t; 3]) -> Result<(), i32> {
    // SAFETY: integer arguments only.
    let done = unsafe { libc::syscall(call, r, e, s) };
    if done == 0 {
        Ok(())
    } else {
        Err(Errno::last_raw())
    }
}

/// `getresuid` or `getresgid` (`call`): real, effective and saved, raw.
#[inline(always)]
fn get_res_ids(call: libc::c_long) -> Result<[libc::uid_t; 3], ()> {
    let mut ids: [libc::uid_t; 3] = [!0; 3];
    let [r, e, s] = &mut ids;
    // SAFETY: three live ids for the kernel to fill.
    let got = unsafe { libc::syscall(call, r as *mut _, e as *mut _, s as *mut _) };
    if got == 0 { Ok(ids) } else { Err(()) }
}

/// Writes the caller's pid after the `LISTEN_PID=` in `buffer`, NUL-terminated: between
/// clone and exec, so no allocation and no formatting machinery.
fn complete_listen_pid(buffer: &mut ListenPidBuffer) {
    let mut digits = [0u8; 20];
    let mut pid = u64::try_from(nix::unistd::getpid().as_raw()).unwrap_or(0);
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (pid % 10) as u8;
        pid /= 10;
        if pid == 0 || start == 0 {
            break;
        }
    }
    // 11 bytes of prefix, at most 20 digits and the NUL fit in 32.
    let tail = digits[start..].iter().chain(&[0]);
    for (to, &d) in buffer[LISTEN_PID.len()..].iter_mut().zip(tail) {
        *to = d as libc::c_char;
    }
}

/// Tries each candidate as execvp does, and returns the errno to report if none runs:
/// "permission denied" if any candidate was found but not executable, the error itself
/// if one was found but failed otherwise (the search stops there), the error itself when
/// there was one path only (`/etc/passwd/x`: "not a directory"), else "not found".
/// A candidate the kernel cannot execute (ENOEXEC) that is not a binary is run as
/// `/bin/sh FILE ARGS...`, execvp's rule: `Step::Shell` with its errno if that fails.
fn exec_first(shared: &Shared) -> (Step, i32) {
    let (argv, envp) = (shared.argv.as_ptr(), shared.envp.as_ptr());
    let candidates = shared.plan.candidates;
    let mut denied = false;
    let mut last = libc::ENOENT;
    for path in candidates {
        // SAFETY: `argv` and `envp` are NULL-terminated arrays of valid C strings.
        last = unsafe { execve(path, argv, envp) };
        match last {
            libc::EACCES => denied = true,
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
            libc::ENOEXEC if !looks_binary(path) => {
                let slot = shared.sh_argv.wrapping_add(1);
                // SAFETY: `sh_argv` has room for the slot at 1, filled with a string that
                // lives as long as the plan; both outlive the child, and reaper never reads
                // the slot.
                unsafe { *slot = path.as_ptr() };
                let sh_argv = shared.sh_argv.cast_const();
                // SAFETY: `sh_argv` and `envp` are NULL-terminated arrays of C strings.
                return (Step::Shell, unsafe { execve(SHELL, sh_argv, envp) });
            }
            other => return (Step::Exec, other),
        }
    }
    let errno = match (denied, candidates.len()) {
        (true, _) => libc::EACCES,
        (false, 1) => last,
        (false, _) => libc::ENOENT,
    };
    (Step::Exec, errno)
}

/// `execve(path, argv, envp)`, which returns only when it fails: its errno. Raw: nix's
/// `execve` builds its pointer arrays, which allocates.
///
/// # Safety
/// `argv` and `envp` are NULL-terminated arrays of pointers to valid C strings.
#[inline(always)]
unsafe fn execve(
    path: &CStr,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
) -> i32 {
    // SAFETY: the caller vouches for the arrays; `path` is a C string.
    unsafe { libc::execve(path.as_ptr(), argv, envp) };
    Errno::last_raw()
}

/// Whether the file at `path` is a binary, not a script: a NUL byte in its first line
/// (of the first 80 bytes), bash's test before it runs a file without `#!` itself. An ELF
/// file of another architecture (ENOEXEC too) stays an "Exec format error", where a shell
/// would make a syntax error of it. A file that cannot be read counts as one: no shell
/// could read it either. Async-signal-safe, on the stack only: the descriptor is the
/// child's own (no CLONE_FILES) and closed at once.
fn looks_binary(path: &CStr) -> bool {
    let flags = OFlag::O_RDONLY | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
    let Ok(fd) = nix::fcntl::open(path, flags, Mode::empty()) else {
        return true;
    };
    let mut sample = [0u8; SAMPLE];
    let read = nix::unistd::read(&fd, &mut sample);
    drop(fd);
    let Ok(n) = read else {
        return true;
    };
    sample[..n.min(SAMPLE)]
        .iter()
        .take_while(|&&c| c != b'\n')
        .any(|&c| c == 0)
}

/// The child's stack, a mapping of its own. An array in `spawn`'s frame would not do:
/// every frame larger than a page gets stack probes that write to each of its pages, so
/// all 32 KiB would be touched at once and stay in reaper's memory for good. A mapping
/// gets only the pages the child writes to, and they go with it. Its lowest page is a
/// guard: an overflow faults instead of writing over whatever lies below. Raw: nix's
/// `mman` feature is not built in, and its calls are as unsafe.
struct ChildStack {
    base: *mut libc::c_void,
    /// The guard's size: one page, whatever the page size (4 to 64 KiB).
    guard: usize,
}

impl ChildStack {
    fn map() -> Result<ChildStack, Error> {
        let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE);
        let guard = page
            .ok()
            .flatten()
            .and_then(|p| usize::try_from(p).ok())
            .unwrap_or(4096);
        // SAFETY: a fresh anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                guard + CHILD_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(Error::failed("map the child's stack", Errno::last()));
        }
        // SAFETY: the first page of the mapping just made.
        if unsafe { libc::mprotect(base, guard, libc::PROT_NONE) } != 0 {
            // A seccomp profile may refuse PROT_NONE. A hole faults just as well (`drop`
            // unmaps the whole range, hole and all, which munmap allows).
            let refused = Errno::last();
            // SAFETY: the first page of the mapping just made; nothing uses it yet.
            let unmapped = unsafe { libc::munmap(base, guard) } == 0;
            log::debug!(
                "failed to protect the guard page of the child's stack: {}; {}",
                describe(refused),
                if unmapped {
                    "unmapped it instead".to_string()
                } else {
                    format!("nor could it be unmapped ({})", describe(Errno::last()))
                }
            );
        }
        Ok(ChildStack { base, guard })
    }

    /// The stack grows down on every architecture reaper builds for; the end of a mapping
    /// is page-aligned, so 16-aligned.
    fn top(&self) -> *mut libc::c_void {
        (self.base as usize + self.guard + CHILD_STACK) as *mut libc::c_void
    }
}

impl Drop for ChildStack {
    fn drop(&mut self) {
        // SAFETY: with CLONE_VFORK the child has exec'd or exited before clone returns, so
        // nothing runs on this stack any more.
        unsafe { libc::munmap(self.base, self.guard + CHILD_STACK) };
    }
}

unsafe extern "C" {
    static environ: *const *const libc::c_char;
}

/// reaper's environment as the application gets it: every entry of `environ`, byte for
/// byte and in order (std's `vars_os` would skip an entry without '='). Raw: nix has no
/// reader of `environ`.
pub fn environment() -> Vec<&'static CStr> {
    let mut envp = Vec::new();
    // SAFETY: `environ` is the C runtime's NULL-terminated array of C strings. Nothing in
    // reaper changes it: std's `set_var` and `remove_var` are `unsafe`, so only this layer
    // could call them, and it does not.
    let mut entry = unsafe { environ };
    while !entry.is_null() {
        // SAFETY: `entry` is within the array: it stops at the NULL terminator below.
        let string = unsafe { *entry };
        if string.is_null() {
            break;
        }
        // SAFETY: a C string of `environ`, which stays as it is for the process's life
        // (above).
        envp.push(unsafe { CStr::from_ptr(string) });
        entry = entry.wrapping_add(1);
    }
    envp
}

/// Who reaper runs as: real, effective and saved uid and gid, and its groups.
/// Raw: nix's wrappers of these need its `user` feature, which is not built in.
pub fn current_ids() -> Result<Current, Error> {
    let mut uids: [libc::uid_t; 3] = [0; 3];
    let mut gids: [libc::gid_t; 3] = [0; 3];
    let [ru, eu, su] = &mut uids;
    // SAFETY: three valid pointers to uid_t.
    if unsafe { libc::getresuid(ru, eu, su) } != 0 {
        return Err(Error::failed("read reaper's own uids", Errno::last()));
    }
    let [rg, eg, sg] = &mut gids;
    // SAFETY: three valid pointers to gid_t.
    if unsafe { libc::getresgid(rg, eg, sg) } != 0 {
        return Err(Error::failed("read reaper's own gids", Errno::last()));
    }
    let failed = |_| Error::failed("read reaper's own groups", Errno::last());
    // SAFETY: a size of 0 asks for the count only, and writes nothing.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let mut groups: Vec<libc::gid_t> = vec![0; usize::try_from(count).map_err(failed)?];
    // SAFETY: room for `count` gids at that pointer; reaper has one thread, so the count
    // cannot have changed.
    let n = unsafe { libc::getgroups(count, groups.as_mut_ptr()) };
    groups.truncate(usize::try_from(n).map_err(failed)?);
    Ok(Current { uids, gids, groups })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn a_binary_is_told_from_a_script() {
        let dir = std::env::temp_dir().join(format!("reaper-unit-binary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let check = |name: &str, content: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            looks_binary(&CString::new(path.as_os_str().as_bytes()).unwrap())
        };
        assert!(!check("script", b"echo hi\nexit 3\n"));
        assert!(!check("empty", b""));
        assert!(!check("nul-after-line", b"echo hi\n\0\0"));
        assert!(check("elf", b"\x7fELF\x02\x01\x01\0\0\0"));
        assert!(check("nul-in-first-line", b"echo \0hi\n"));
        // Past the sample, a NUL no longer counts.
        let mut long = vec![b'#'; SAMPLE];
        long.push(0);
        assert!(!check("long", &long));
        let missing = CString::new(dir.join("missing").as_os_str().as_bytes()).unwrap();
        assert!(looks_binary(&missing), "unreadable");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn listen_pid_is_completed_with_the_callers_pid() {
        let own = CString::new(format!("LISTEN_PID={}", std::process::id())).unwrap();
        let mut buffer: ListenPidBuffer = [0x55; 32];
        for (to, &from) in buffer.iter_mut().zip(LISTEN_PID) {
            *to = from as libc::c_char;
        }
        complete_listen_pid(&mut buffer);
        let bytes: Vec<u8> = buffer.iter().map(|&c| c as u8).collect();
        let entry = CStr::from_bytes_until_nul(&bytes).unwrap();
        assert_eq!(entry, own.as_c_str());
    }
}
