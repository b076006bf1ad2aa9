//! Starting the application so that it cannot tell reaper is there.
//!
//! The child gets its own process group (the target of forwarded signals), the controlling
//! terminal's foreground when reaper had it (see `terminal`), and the signal mask reaper inherited; reaper changes no
//! disposition, so the inherited ones (an ignored SIGPIPE, say) pass through untouched.
//! Every descriptor reaper opens is close-on-exec, and it opens none here.
//!
//! The child is created with `clone(CLONE_VM | CLONE_VFORK)`, as posix_spawn does: it runs
//! in reaper's memory while reaper waits, until it has exec'd or exited. So no page table
//! is copied, no pipe is needed to learn of an exec failure (the child writes the errno
//! into reaper's memory), it works even when no descriptor is free, and by the time reaper
//! forwards its first signal the application has been exec'd.
//!
//! With `--user`, the child, and only it, switches before exec: supplementary groups, gid,
//! uid, with raw system calls (credentials belong to each task, so reaper's stay as they
//! were; CLONE_VM shares memory, not credentials), then checks the result and that root
//! cannot be had back; then `--workdir` (no CLONE_FS: reaper's own directory is not
//! moved). A failed step is written into reaper's memory beside the exec errno, and the
//! child exits 1 without running anything. reaper's own ids are read first: when they
//! already are the user's (`docker run --user`), there is nothing to switch, and when only
//! the groups differ, a refused `setgroups` keeps the runtime's rather than fail.
//!
//! A file the kernel refuses as no executable (ENOEXEC) that is not a binary is run as
//! `/bin/sh FILE ARGS...`, execvp's rule, with an argv prepared before the clone.
//!
//! One disposition is not passed through as it is: SIGCHLD, if reaper inherited it
//! ignored (see `signals::take_over`). The child ignores it again before exec.
//!
//! One variable is not passed through as it is: a `LISTEN_PID` naming reaper (socket
//! activation: systemd, `systemd-socket-activate`, podman) names the child instead, which
//! writes its own pid into a buffer prepared for it, so that the application, as
//! sd_listen_fds(3) requires, takes the sockets as its own. Any other value passes
//! unchanged. reaper's copies of the sockets, and of every other descriptor it inherited,
//! are closed once the child has them (`setup::close_inherited_descriptors`, with the raw
//! calls here).
//!
//! Why not `std::process::Command` (`process_group(0)` and a `pre_exec` restoring the mask,
//! the dispositions and the terminal)? A variant built that way was measured against this
//! one (December 2026, x86_64, 2 cores, `bench/run --measure startup`, five interleaved
//! runs of 300 starts each): start-up 244-372 µs here against 329-526 µs not as PID 1, and
//! slower in 9 of 10 paired runs; VmRSS 360 KiB against 412 KiB; the amd64 release binary
//! 463 KB against 496 KB. With the descriptor limit at 3 or 4 it could not start the app
//! at all (std needs a pipe for exec errors: "failed to fork: No file descriptors
//! available"), where this one still runs it. std also empties the child's mask before
//! `pre_exec`, so every signal is unblocked until `pre_exec` blocks them again, and its
//! errors cannot tell a failed fork from a failed exec. Its one gain: under qemu-user,
//! which turns CLONE_VFORK into a plain fork, it still reports exec failures in words.
#![allow(unsafe_code)]

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};

use nix::errno::Errno;
use nix::unistd::Pid;

use crate::error::{Error, describe};
use crate::signals::Inherited;
use crate::status;
use crate::terminal::Terminal;
use crate::user::{Current, Identity};

/// What runs a file the kernel cannot execute (ENOEXEC, a script without `#!`), as execvp
/// and every shell run it: `/bin/sh FILE ARGS...`.
const SHELL: &std::ffi::CStr = c"/bin/sh";

/// How much of such a file is read to tell a script from a binary (bash's figure).
const SAMPLE: usize = 80;

/// Where the command is looked up when `PATH` is unset: Docker's default `PATH`.
const DEFAULT_PATH: &[u8] = b"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The stack the child runs on while reaper waits: the child only makes a few syscalls.
const CHILD_STACK: usize = 32 * 1024;

unsafe extern "C" {
    static environ: *const *const libc::c_char;
}

/// `LISTEN_PID=`, then room for the digits of any pid and the NUL.
const LISTEN_PID: &[u8] = b"LISTEN_PID=";
type ListenPidBuffer = [libc::c_char; 32];

/// Everything the child reads, prepared before it exists; it writes only `errno`
/// (and the digits of its pid after `LISTEN_PID=`).
struct ChildSetup {
    /// The paths to try, in order, each a NUL-terminated string.
    candidates: Vec<*const libc::c_char>,
    argv: Vec<*const libc::c_char>,
    /// `/bin/sh`, a slot for the file that exec refused with ENOEXEC (the child fills it
    /// in), then argv[1..], NULL-terminated: `sh_argv` owns it.
    sh_argv: *mut *const libc::c_char,
    /// The application's environment, NULL-terminated: reaper's own, entry for entry.
    envp: Vec<*const libc::c_char>,
    /// The `LISTEN_PID=` entry of `envp` the child completes with its pid, when reaper's
    /// environment named reaper; else null.
    listen_pid: *mut libc::c_char,
    inherited: Inherited,
    /// The terminal whose foreground the app's group gets.
    terminal: Option<libc::c_int>,
    /// The errno of the last failed exec; 0 while none failed.
    errno: AtomicI32,
    /// `--user`: whom the child becomes before exec; `None`: it stays who reaper is.
    switch: Option<Switch>,
    /// `--workdir`, changed to after the switch.
    workdir: Option<CString>,
    /// Which step failed (a `Step`), with `errno`; `Step::Exec` while none but exec did.
    step: AtomicU8,
    /// reaper already ran with the user's ids and could not set the groups: the child kept
    /// reaper's.
    kept_groups: AtomicBool,
}

/// The ids of an `Identity`, as the child's raw calls take them.
struct Switch {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
    /// reaper's ids already are `uid` and `gid`, only the groups differ: if the kernel
    /// refuses to set them (no CAP_SETGID: `docker run --user`, Kubernetes' `runAsUser`),
    /// the groups the runtime gave are kept, as they would be without `--user`.
    groups_may_stay: bool,
}

/// The child's steps that can fail, in order; reported back through `ChildSetup::step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Step {
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
        ]
        .into_iter()
        .find(|s| *s as u8 == n)
        .unwrap_or(Step::Exec)
    }
}

/// The exit status of a child that never got to exec because the user switch or the
/// working directory failed: "reaper cannot start COMMAND", as gosu and su-exec exit 1.
const SETUP_FAILED: i32 = status::FAILED as i32;

/// The raw system calls of the switch: the C library's wrappers of the id calls
/// broadcast the change to every thread of the process (glibc's SIGSETXID, musl's
/// `__synccall`), which a child running in reaper's memory must not do. The 32-bit
/// architectures keep 16-bit ids under the plain numbers.
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

/// Starts `argv` with the signal state reaper inherited. Returns the child's pid, which is
/// also its process group id. `Err` only when there is no child at all; a command that
/// could not be executed has a child all the same, which has exited 126 or 127 and is
/// reaped like any other: that error is logged here.
pub fn spawn(
    argv: &[OsString],
    inherited: Inherited,
    terminal: Option<&Terminal>,
    user: Option<&Identity>,
    workdir: Option<&OsStr>,
) -> Result<libc::pid_t, Error> {
    let c_args = c_strings(argv.iter().map(OsString::as_os_str))?;
    let c_paths = search_path(argv.first().map(|a| a.as_bytes()).unwrap_or_default())?;
    let c_workdir = c_strings(workdir.into_iter())?.pop();
    let mut sh_argv = shell_argv(&c_args);
    let me = user.map(|_| current_ids()).transpose()?;
    let switch = user.zip(me.as_ref()).and_then(|(u, me)| switch_to(u, me));
    let mut listen_pid_buffer: ListenPidBuffer = [0; 32];
    let mut envp = with_home(environment(), user.and_then(|u| u.home.as_deref()));
    let listen_pid = point_listen_pid_at_child(&mut envp, &mut listen_pid_buffer);
    let setup = ChildSetup {
        candidates: c_paths.iter().map(|p| p.as_ptr()).collect(),
        argv: null_terminated(&c_args),
        sh_argv: sh_argv.as_mut_ptr(),
        inherited,
        envp,
        listen_pid,
        terminal: terminal.map(Terminal::raw_fd),
        errno: AtomicI32::new(0),
        switch,
        workdir: c_workdir,
        step: AtomicU8::new(Step::Exec as u8),
        kept_groups: AtomicBool::new(false),
    };
    let stack = ChildStack::map()?;

    // SAFETY: with CLONE_VFORK this thread is suspended until the child has exec'd or
    // exited, so the child has the stack, `setup` and `sh_argv` to itself and they outlive it.
    // `child_main` makes only async-signal-safe calls on memory prepared above, and never
    // returns. Of reaper's memory it writes `setup.errno`, `setup.step`,
    // `setup.kept_groups`, the slot of `sh_argv` reaper never reads, and, through the C library's
    // wrappers of calls that fail, this thread's errno (shared: the child has no TLS of its
    // own), which reaper reads only after a failing call of its own. reaper has no signal
    // handlers, so none can run in the child on reaper's memory.
    let pid = unsafe {
        libc::clone(
            child_main,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            &setup as *const ChildSetup as *mut libc::c_void,
        )
    };
    if pid < 0 {
        return Err(Error::failed("fork", Errno::last()));
    }
    // The child puts itself in its own group; doing it here too, as shells do, makes the
    // group exist when spawn returns even where CLONE_VFORK is emulated by a plain fork
    // (qemu-user), so that a signal forwarded at once cannot miss it. Natively the child
    // has exec'd or exited by now, and this fails harmlessly (EACCES, ESRCH).
    let _ = nix::unistd::setpgid(Pid::from_raw(pid), Pid::from_raw(pid));
    report(&setup, argv.first(), pid, user.zip(me.as_ref()), workdir);
    Ok(pid)
}

/// The paths to try for `program`, in order, as C strings (see `candidates`).
fn search_path(program: &[u8]) -> Result<Vec<CString>, Error> {
    let path = std::env::var_os("PATH");
    let paths = candidates(program, path.as_deref());
    c_strings(paths.iter().map(|p| OsStr::from_bytes(p)))
}

/// The pointers of `words`, and a null pointer after them: a C `argv`.
fn null_terminated(words: &[CString]) -> Vec<*const libc::c_char> {
    let pointers = words.iter().map(|w| w.as_ptr());
    pointers.chain(Some(std::ptr::null())).collect()
}

/// `/bin/sh`, a slot for the file's path (filled in by the child), and the command's
/// arguments: the argv of a file without `#!` (ENOEXEC).
fn shell_argv(c_args: &[CString]) -> Vec<*const libc::c_char> {
    [SHELL.as_ptr(), std::ptr::null()]
        .into_iter()
        .chain(c_args.iter().skip(1).map(|a| a.as_ptr()))
        .chain(Some(std::ptr::null()))
        .collect()
}

/// What switching from `me` to `user` takes; `None` when reaper already runs as `user`.
fn switch_to(user: &Identity, me: &Current) -> Option<Switch> {
    if me.has_ids_of(user) && me.has_groups_of(user) {
        log::debug!(
            "reaper already runs as user '{}' ({}): nothing to switch",
            user.spec,
            me.describe()
        );
        return None;
    }
    Some(Switch {
        uid: user.uid,
        gid: user.gid,
        groups: user.groups.clone(),
        groups_may_stay: me.has_ids_of(user),
    })
}

/// Logs how the start of `program` went, as the child left it in `setup`: started, or the
/// step that failed (an exec error is reaper's `cannot run` line).
fn report(
    setup: &ChildSetup,
    program: Option<&OsString>,
    pid: libc::pid_t,
    user: Option<(&Identity, &Current)>,
    workdir: Option<&OsStr>,
) {
    let program = program.map(|p| p.to_string_lossy().into_owned());
    let program = program.unwrap_or_default();
    let errno = Errno::from_raw(setup.errno.load(Ordering::Acquire));
    if let (true, Some((u, me))) = (setup.kept_groups.load(Ordering::Acquire), user) {
        log::info!(
            "reaper already runs as user '{}' ({}) and may not set its groups: {:?} kept, not {:?}",
            u.spec,
            me.describe(),
            me.groups,
            u.groups
        );
    }
    match Step::from_u8(setup.step.load(Ordering::Acquire)) {
        Step::Exec if errno as i32 == 0 => log::info!("started '{program}' as pid {pid}"),
        Step::Exec => log::error!("{}", Error::cannot_run(program, errno)),
        step => log::error!("{}", setup_failure(&program, step, errno, user, workdir)),
    }
}

/// The child's stack, a mapping of its own. An array in this function's frame would not
/// do: every frame larger than a page gets stack probes that write to each of its pages,
/// so all 32 KiB would be touched at once and stay in reaper's memory for good. A mapping
/// gets only the pages the child writes to, and they go with it. Its lowest page is a
/// guard: an overflow faults instead of writing over whatever lies below.
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

/// Who reaper runs as: real, effective and saved uid and gid, and its groups.
fn current_ids() -> Result<Current, Error> {
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

/// The line for a child that failed before exec: the program, the user, the step and why.
fn setup_failure(
    program: &str,
    step: Step,
    errno: Errno,
    user: Option<(&Identity, &Current)>,
    workdir: Option<&OsStr>,
) -> String {
    let who = user.map_or(String::new(), |(u, _)| {
        format!(" as user '{}' (uid {}, gid {})", u.spec, u.uid, u.gid)
    });
    let step_failed = |what: &str| match (errno, user) {
        // The one reason users meet: reaper is not root (`docker run --user`, a
        // Kubernetes `runAsUser`) and was asked for other ids than its own.
        (Errno::EPERM, Some((_, me))) => format!(
            "reaper runs as {} and may not switch to other ids (failed to set {what}: {})",
            me.describe(),
            describe(errno)
        ),
        _ => format!("failed to set {what}: {}", describe(errno)),
    };
    let why = match step {
        Step::SetGroups => step_failed("the supplementary groups"),
        Step::SetGid => step_failed("the gid"),
        Step::SetUid => step_failed("the uid"),
        Step::CheckIds => "the ids after the switch are not all the new ones".to_string(),
        Step::RegainRoot => "setuid(0) still succeeds after the switch".to_string(),
        Step::Shell => format!(
            "{} (no #!), and {} to run it as a script: {}",
            describe(Errno::ENOEXEC),
            SHELL.to_string_lossy(),
            describe(errno)
        ),
        Step::Workdir | Step::Exec => format!(
            "cannot change to directory '{}': {}",
            crate::error::shown(workdir.unwrap_or_default().as_bytes()),
            describe(errno)
        ),
    };
    crate::error::one_line(&format!("cannot run '{program}'{who}: {why}"))
}

/// `envp` with `home` (`HOME=...`) added when it has no `HOME`, or an empty one: what
/// gosu and su-exec give a user that has a passwd entry.
fn with_home(
    mut envp: Vec<*const libc::c_char>,
    home: Option<&std::ffi::CStr>,
) -> Vec<*const libc::c_char> {
    let Some(home) = home else {
        return envp;
    };
    // SAFETY: every entry but the last is a valid C string (see `environment`).
    let entry = |p: &*const libc::c_char| unsafe { std::ffi::CStr::from_ptr(*p) }.to_bytes();
    let set = envp.iter().filter(|p| !p.is_null()).any(|p| {
        entry(p)
            .strip_prefix(b"HOME=")
            .is_some_and(|v| !v.is_empty())
    });
    if !set {
        envp.retain(|p| p.is_null() || entry(p) != b"HOME=");
        envp.insert(envp.len() - 1, home.as_ptr());
    }
    envp
}

fn c_strings<'a>(words: impl Iterator<Item = &'a OsStr>) -> Result<Vec<CString>, Error> {
    words
        .map(|w| CString::new(w.as_bytes()))
        .collect::<Result<_, _>>()
        // Unreachable from a real argv or environment, whose words are C strings already.
        .map_err(|_| Error::failed("pass a word with a NUL byte", Errno::EINVAL))
}

/// reaper's environment as the application gets it: every entry of `environ`, byte for
/// byte and in order (std's `vars_os` would skip an entry without '='), NULL-terminated.
/// The strings stay the process's own, unchanged since start: reaper never sets a variable.
fn environment() -> Vec<*const libc::c_char> {
    let mut envp = Vec::new();
    // SAFETY: `environ` is the C runtime's NULL-terminated array of C strings; nothing in
    // reaper changes it, and it is read before the clone.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            envp.push(*entry);
            entry = entry.add(1);
        }
    }
    envp.push(std::ptr::null());
    envp
}

/// Points every `LISTEN_PID` entry of `envp` that names reaper at `buffer`, which holds
/// `LISTEN_PID=` for the child to complete, and returns the pointer (null when none does).
fn point_listen_pid_at_child(
    envp: &mut [*const libc::c_char],
    buffer: &mut ListenPidBuffer,
) -> *mut libc::c_char {
    let own = nix::unistd::getpid().as_raw().to_string();
    let names_reaper = |entry: *const libc::c_char| {
        // SAFETY: every entry but the NULL terminator is a C string of `environ`.
        let entry = unsafe { std::ffi::CStr::from_ptr(entry) }.to_bytes();
        entry.strip_prefix(LISTEN_PID) == Some(own.as_bytes())
    };
    let mut pointer: *mut libc::c_char = std::ptr::null_mut();
    for entry in envp.iter_mut().filter(|e| !e.is_null()) {
        if names_reaper(*entry) {
            if pointer.is_null() {
                for (to, &from) in buffer.iter_mut().zip(LISTEN_PID) {
                    *to = from as libc::c_char;
                }
                pointer = buffer.as_mut_ptr();
            }
            *entry = pointer;
        }
    }
    pointer
}

/// Writes the caller's pid after the `LISTEN_PID=` in `buffer`, NUL-terminated: between
/// clone and exec, so no allocation and no formatting machinery.
///
/// # Safety
/// `buffer` points at a `ListenPidBuffer` that starts with `LISTEN_PID=`.
unsafe fn complete_listen_pid(buffer: *mut libc::c_char) {
    let mut digits = [0u8; 20];
    let mut pid = u64::try_from(unsafe { libc::getpid() }).unwrap_or(0);
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (pid % 10) as u8;
        pid /= 10;
        if pid == 0 || start == 0 {
            break;
        }
    }
    let tail = &digits[start..];
    for (i, &d) in tail.iter().chain(&[0]).enumerate() {
        // SAFETY: 11 bytes of prefix, at most 20 digits and the NUL fit in 32.
        unsafe { *buffer.add(LISTEN_PID.len() + i) = d as libc::c_char };
    }
}

/// The paths exec tries for `program`, as execvp searches: the name itself when it holds
/// a '/', else each `PATH` directory in turn (an empty entry is the working directory).
fn candidates(program: &[u8], path: Option<&OsStr>) -> Vec<Vec<u8>> {
    if program.contains(&b'/') || program.is_empty() {
        return vec![program.to_vec()];
    }
    let path = path.map_or(DEFAULT_PATH, |p| p.as_bytes());
    path.split(|&c| c == b':')
        .map(|dir| match dir {
            b"" => program.to_vec(),
            _ => [dir, b"/", program].concat(),
        })
        .collect()
}

/// The child: set up, exec, or record why not and exit with 127 or 126.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildSetup` that `spawn` keeps alive until we exec or exit.
    let setup = unsafe { &*(arg as *const ChildSetup) };
    // SAFETY: async-signal-safe calls only, on memory prepared before clone.
    unsafe {
        libc::setpgid(0, 0);
        if let Some(tty) = setup.terminal {
            // Every signal is still blocked here, SIGTTOU included, so this cannot stop us.
            libc::tcsetpgrp(tty, libc::getpid());
        }
        if let Err((step, errno)) = switch_and_chdir(setup) {
            setup.errno.store(errno, Ordering::Release);
            setup.step.store(step as u8, Ordering::Release);
            libc::_exit(SETUP_FAILED);
        }
        setup.inherited.restore();
        if !setup.listen_pid.is_null() {
            complete_listen_pid(setup.listen_pid);
        }
        let (step, errno) = exec_first(setup);
        setup.errno.store(errno, Ordering::Release);
        setup.step.store(step as u8, Ordering::Release);
        libc::_exit(match step {
            // The file was found: it is the shell that is missing or broken.
            Step::Shell => i32::from(status::CANNOT_RUN),
            _ => i32::from(status::of_exec_error(Errno::from_raw(errno))),
        })
    }
}

/// The user switch (groups, gid, uid, in that order, then checked) and the working
/// directory, as the child does them: the step that failed and its errno, if one did.
///
/// # Safety
/// Between clone and exec: raw system calls only, on `setup`, prepared before the clone.
unsafe fn switch_and_chdir(setup: &ChildSetup) -> Result<(), (Step, i32)> {
    let fail = |step| Err((step, Errno::last_raw()));
    if let Some(s) = &setup.switch {
        let (uid, gid) = (s.uid, s.gid);
        let mut kept_groups = false;
        // SAFETY: raw calls on ids and on `s.groups`, which outlives the child.
        unsafe {
            if libc::syscall(nr::SETGROUPS, s.groups.len(), s.groups.as_ptr()) != 0 {
                if !(s.groups_may_stay && Errno::last_raw() == libc::EPERM) {
                    return fail(Step::SetGroups);
                }
                kept_groups = true;
                setup.kept_groups.store(true, Ordering::Release);
            }
            if libc::syscall(nr::SETRESGID, gid, gid, gid) != 0 {
                return fail(Step::SetGid);
            }
            if libc::syscall(nr::SETRESUID, uid, uid, uid) != 0 {
                return fail(Step::SetUid);
            }
            let mut ids: [libc::uid_t; 6] = [!0; 6];
            let [ru, eu, su, rg, eg, sg] = &mut ids;
            let got_u = libc::syscall(nr::GETRESUID, ru as *mut _, eu as *mut _, su as *mut _);
            let got_g = libc::syscall(nr::GETRESGID, rg as *mut _, eg as *mut _, sg as *mut _);
            let count = libc::syscall(nr::GETGROUPS, 0, std::ptr::null_mut::<libc::gid_t>());
            if got_u != 0
                || got_g != 0
                || ids != [uid, uid, uid, gid, gid, gid]
                || (!kept_groups && usize::try_from(count).ok() != Some(s.groups.len()))
            {
                return Err((Step::CheckIds, 0));
            }
            // The kernel lets a process go back to root only while one of its uids is 0.
            if uid != 0 && libc::syscall(nr::SETUID, 0) == 0 {
                return Err((Step::RegainRoot, 0));
            }
        }
    }
    if let Some(dir) = &setup.workdir {
        // SAFETY: a C string prepared before the clone.
        if unsafe { libc::chdir(dir.as_ptr()) } != 0 {
            return fail(Step::Workdir);
        }
    }
    Ok(())
}

/// Tries each candidate as execvp does, and returns the errno to report if none runs:
/// "permission denied" if any candidate was found but not executable, the error itself
/// if one was found but failed otherwise (the search stops there), the error itself when
/// there was one path only (`/etc/passwd/x`: "not a directory"), else "not found".
/// A candidate the kernel cannot execute (ENOEXEC) that is not a binary is run as
/// `/bin/sh FILE ARGS...`, execvp's rule: `Step::Shell` with its errno if that fails.
///
/// # Safety
/// Between clone and exec: `setup` holds valid C strings, prepared before the clone.
unsafe fn exec_first(setup: &ChildSetup) -> (Step, i32) {
    let (argv, envp) = (setup.argv.as_ptr(), setup.envp.as_ptr());
    let mut denied = false;
    let mut last = libc::ENOENT;
    for &path in &setup.candidates {
        // SAFETY: valid strings, and NULL-terminated arrays of them.
        unsafe { libc::execve(path, argv, envp) };
        last = Errno::last_raw();
        match last {
            libc::EACCES => denied = true,
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
            // SAFETY: as for this function; `path` is one of the candidates.
            libc::ENOEXEC if !unsafe { looks_binary(path) } => {
                // SAFETY: `sh_argv` has room for the slot at 1, filled here with a string
                // that lives as long as `setup`; both outlive the child.
                unsafe {
                    *setup.sh_argv.add(1) = path;
                    libc::execve(SHELL.as_ptr(), setup.sh_argv.cast_const(), envp);
                }
                return (Step::Shell, Errno::last_raw());
            }
            other => return (Step::Exec, other),
        }
    }
    let errno = match (denied, setup.candidates.len()) {
        (true, _) => libc::EACCES,
        (false, 1) => last,
        (false, _) => libc::ENOENT,
    };
    (Step::Exec, errno)
}

/// Whether the file at `path` is a binary, not a script: a NUL byte in its first line
/// (of the first 80 bytes), bash's test before it runs a file without `#!` itself. An ELF
/// file of another architecture (ENOEXEC too) stays an "Exec format error", where a shell
/// would make a syntax error of it. A file that cannot be read counts as one: no shell
/// could read it either.
///
/// # Safety
/// Between clone and exec: `path` is a valid C string; async-signal-safe calls on the
/// stack only. The descriptor is the child's own (no CLONE_FILES) and closed at once.
unsafe fn looks_binary(path: *const libc::c_char) -> bool {
    // SAFETY: a valid C string.
    let fd = unsafe { libc::open(path, libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY) };
    if fd < 0 {
        return true;
    }
    let mut sample = [0u8; SAMPLE];
    // SAFETY: room for `SAMPLE` bytes; then the descriptor just opened is closed.
    let n = unsafe {
        let n = libc::read(fd, sample.as_mut_ptr().cast(), SAMPLE);
        libc::close(fd);
        n
    };
    let Ok(n) = usize::try_from(n) else {
        return true;
    };
    sample[..n.min(SAMPLE)]
        .iter()
        .take_while(|&&c| c != b'\n')
        .any(|&c| c == 0)
}

/// Closes the descriptors `first` to `last`, both included (`close_range(2)`); there is no
/// safe wrapper.
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: a raw syscall on no memory. reaper holds no descriptor in this range as an
    // owned object (a `File`, an `OwnedFd`) that would close it again: the caller keeps
    // its own out.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    Errno::result(r).map(drop)
}

/// Closes one descriptor that reaper inherited and holds as no owned object, ignoring
/// errors (one that is not open is what was asked for).
pub fn close_fd(fd: libc::c_int) {
    // SAFETY: as for `close_range`: nothing in reaper owns this descriptor.
    unsafe { libc::close(fd) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_search_candidates() {
        let c = |prog: &str, path: Option<&str>| -> Vec<String> {
            candidates(prog.as_bytes(), path.map(OsStr::new))
                .into_iter()
                .map(|p| String::from_utf8(p).unwrap())
                .collect()
        };
        assert_eq!(c("/bin/sh", Some("/x")), ["/bin/sh"]);
        assert_eq!(c("./app", None), ["./app"]);
        assert_eq!(c("a/b", Some("/x")), ["a/b"]);
        assert_eq!(c("sh", Some("/a:/b/c")), ["/a/sh", "/b/c/sh"]);
        assert_eq!(c("sh", Some("/a::/b")), ["/a/sh", "sh", "/b/sh"]);
        assert_eq!(c("sh", Some("")), ["sh"]);
        assert_eq!(c("sh", None)[0], "/usr/local/sbin/sh");
        assert_eq!(c("sh", None).len(), 6);
        assert_eq!(c("", Some("/a")), [""]);
    }

    #[test]
    fn a_binary_is_told_from_a_script() {
        let dir = std::env::temp_dir().join(format!("reaper-unit-binary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let check = |name: &str, content: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            let c = CString::new(path.as_os_str().as_bytes()).unwrap();
            // SAFETY: a valid C string; the function only reads the file.
            unsafe { looks_binary(c.as_ptr()) }
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
        // SAFETY: a valid C string.
        assert!(unsafe { looks_binary(missing.as_ptr()) }, "unreadable");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn listen_pid_naming_reaper_is_completed_with_the_callers_pid() {
        let own = CString::new(format!("LISTEN_PID={}", std::process::id())).unwrap();
        let other = CString::new("LISTEN_PID=999999999").unwrap();
        let fds = CString::new("LISTEN_FDS=2").unwrap();
        let mut envp = vec![other.as_ptr(), own.as_ptr(), fds.as_ptr(), std::ptr::null()];
        let mut buffer: ListenPidBuffer = [0x55; 32];
        let pointer = point_listen_pid_at_child(&mut envp, &mut buffer);
        assert!(!pointer.is_null());
        assert_eq!(envp[0], other.as_ptr());
        assert_eq!(envp[1], pointer.cast_const());
        assert_eq!(envp[2], fds.as_ptr());
        // SAFETY: the buffer just prepared, which starts with LISTEN_PID=.
        unsafe { complete_listen_pid(pointer) };
        // SAFETY: complete_listen_pid NUL-terminated it.
        let entry = unsafe { std::ffi::CStr::from_ptr(pointer) };
        assert_eq!(entry, own.as_c_str());

        let mut envp = vec![other.as_ptr(), fds.as_ptr(), std::ptr::null()];
        assert!(point_listen_pid_at_child(&mut envp, &mut buffer).is_null());
        assert_eq!(envp, [other.as_ptr(), fds.as_ptr(), std::ptr::null()]);
    }
}
