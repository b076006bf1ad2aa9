//! Confining the application with Landlock: where it may write, what it may execute, which
//! TCP ports it may bind and connect to, and whether it may signal or reach the abstract
//! unix sockets of processes outside its domain.
//!
//! reaper builds the ruleset before the clone, as root or whoever it runs as; the child
//! alone applies it (`prctl(PR_SET_NO_NEW_PRIVS)`, `landlock_restrict_self`) after the
//! `--user` switch and right before exec, so the app and everything it starts are confined
//! and reaper never is: it still signals, reaps and tears down everything. Reading is never
//! restricted (the runtime's mounts and AppArmor do that), nor are descriptors the app
//! inherited (Landlock checks at open).
//!
//! Fail closed: a restriction that was asked for and cannot be applied (no Landlock, an
//! older ABI than an option needs, a seccomp profile that refuses the calls, a path that
//! cannot be opened) stops reaper before anything runs, with one line naming the option
//! and the reason, status 2. `--sandbox-best-effort` makes each of those a warning and
//! leaves that restriction out.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use crate::error::{Error, describe, shown};
use crate::sys::landlock;

/// What the Landlock options asked for (a field each; empty or false: not asked).
#[derive(Debug, PartialEq, Default, Clone)]
pub struct Confine {
    pub write: Vec<OsString>,
    pub write_no_dev: bool,
    pub exec: Vec<OsString>,
    pub bind: Vec<u16>,
    pub connect: Vec<u16>,
    pub scope_signals: bool,
    pub scope_abstract_unix: bool,
    pub best_effort: bool,
}

impl Confine {
    fn writes(&self) -> bool {
        !self.write.is_empty() || self.write_no_dev
    }

    /// Whether any restriction was asked for.
    pub fn any(&self) -> bool {
        self.writes()
            || !self.exec.is_empty()
            || !self.bind.is_empty()
            || !self.connect.is_empty()
            || self.scope_signals
            || self.scope_abstract_unix
    }

    /// The first option given, to name in a message about all of them.
    fn first_option(&self) -> &'static str {
        [
            (!self.write.is_empty(), "--write-allow"),
            (self.write_no_dev, "--write-no-dev"),
            (!self.exec.is_empty(), "--exec-allow"),
            (!self.bind.is_empty(), "--bind-tcp-allow"),
            (!self.connect.is_empty(), "--connect-tcp-allow"),
            (self.scope_signals, "--scope-signals"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
        .unwrap_or("--scope-abstract-unix")
    }
}

/// Landlock's access rights (linux/landlock.h), as far as reaper uses them.
mod access {
    pub const EXECUTE: u64 = 1 << 0;
    pub const WRITE_FILE: u64 = 1 << 1;
    pub const READ_FILE: u64 = 1 << 2;
    /// REMOVE_DIR, REMOVE_FILE and the seven MAKE_* (char, dir, reg, sock, fifo, block,
    /// sym): bits 4 to 12, all of ABI 1.
    pub const REMOVE_AND_MAKE: u64 = 0x1ff0;
    /// ABI 2: linking or renaming into another directory.
    pub const REFER: u64 = 1 << 13;
    /// ABI 3: truncate(2), ftruncate on a file opened without write.
    pub const TRUNCATE: u64 = 1 << 14;
    /// ABI 5.
    pub const IOCTL_DEV: u64 = 1 << 15;
    /// The rights a rule on a file (not a directory) may carry.
    pub const FOR_A_FILE: u64 = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV;

    pub const BIND_TCP: u64 = 1 << 0;
    pub const CONNECT_TCP: u64 = 1 << 1;

    pub const SCOPE_ABSTRACT_UNIX: u64 = 1 << 0;
    pub const SCOPE_SIGNAL: u64 = 1 << 1;
}

/// Every right that writes, as far as `abi` knows them.
fn write_rights(abi: u32) -> u64 {
    let mut rights = access::WRITE_FILE | access::REMOVE_AND_MAKE;
    if abi >= 2 {
        rights |= access::REFER;
    }
    if abi >= 3 {
        rights |= access::TRUNCATE;
    }
    rights
}

/// What to ask the kernel for: the rights handled, and the rules that allow some back.
#[derive(Debug, PartialEq, Default)]
pub struct Plan {
    fs: u64,
    net: u64,
    scoped: u64,
    /// A path, the option that named it, and the rights allowed beneath it.
    paths: Vec<(OsString, &'static str, u64)>,
    ports: Vec<(u16, u64)>,
    /// With `--sandbox-best-effort`: what was left out, and why.
    pub left_out: Vec<String>,
}

impl Plan {
    /// Nothing to restrict: no ruleset at all.
    fn is_empty(&self) -> bool {
        self.fs | self.net | self.scoped == 0
    }
}

/// The plan for `c` on a kernel that answered `abi`, or the usage error that stops reaper
/// (fail closed). Pure: every ABI's rule is unit-tested below.
pub fn plan(c: &Confine, abi: Result<u32, Errno>) -> Result<Plan, Error> {
    let mut p = Plan::default();
    if !c.any() {
        return Ok(p);
    }
    let abi = match abi {
        Ok(abi) => abi,
        Err(e) => {
            let why = no_landlock(e);
            p.refuse(
                c,
                format!("{}: cannot confine the app: {why}", c.first_option()),
            )?;
            return Ok(p);
        }
    };
    p.allow_paths(c, abi);
    p.allow_ports(c, abi)?;
    p.add_scopes(c, abi)?;
    Ok(p)
}

/// Why the kernel has no Landlock to offer, from the errno of the ABI query.
fn no_landlock(e: Errno) -> String {
    match e {
        Errno::EOPNOTSUPP => "Landlock is built into this kernel but not enabled".into(),
        Errno::ENOSYS => "this kernel has no Landlock, or a seccomp filter refuses it".into(),
        _ => describe(e).to_string(),
    }
}

/// The message for an option that the kernel's ABI `abi` is too old for.
fn needs(option: &str, want: u32, linux: &str, abi: u32) -> String {
    format!("{option} needs Landlock ABI {want} (Linux {linux}); this kernel serves ABI {abi}")
}

impl Plan {
    /// Leaves out what cannot be had, with `--sandbox-best-effort`; else the usage error.
    fn refuse(&mut self, c: &Confine, why: String) -> Result<(), Error> {
        if c.best_effort {
            self.left_out.push(why);
            Ok(())
        } else {
            Err(Error::usage(why))
        }
    }

    /// `--write-allow` (and `/dev`, unless `--write-no-dev`) and `--exec-allow`: every ABI
    /// has them.
    fn allow_paths(&mut self, c: &Confine, abi: u32) {
        if c.writes() {
            let rights = write_rights(abi);
            self.fs |= rights;
            let dev = (!c.write_no_dev).then(|| OsString::from("/dev"));
            for path in c.write.iter().cloned().chain(dev) {
                self.paths.push((path, "--write-allow", rights));
            }
        }
        if !c.exec.is_empty() {
            self.fs |= access::EXECUTE;
            for path in &c.exec {
                self.paths
                    .push((path.clone(), "--exec-allow", access::EXECUTE));
            }
        }
    }

    /// `--bind-tcp-allow` and `--connect-tcp-allow`: ABI 4.
    fn allow_ports(&mut self, c: &Confine, abi: u32) -> Result<(), Error> {
        for (ports, option, right) in [
            (&c.bind, "--bind-tcp-allow", access::BIND_TCP),
            (&c.connect, "--connect-tcp-allow", access::CONNECT_TCP),
        ] {
            if ports.is_empty() {
            } else if abi < 4 {
                self.refuse(c, needs(option, 4, "6.7", abi))?;
            } else {
                self.net |= right;
                self.ports.extend(ports.iter().map(|&port| (port, right)));
            }
        }
        Ok(())
    }

    /// `--scope-signals` and `--scope-abstract-unix`: ABI 6.
    fn add_scopes(&mut self, c: &Confine, abi: u32) -> Result<(), Error> {
        for (asked, option, scope) in [
            (c.scope_signals, "--scope-signals", access::SCOPE_SIGNAL),
            (
                c.scope_abstract_unix,
                "--scope-abstract-unix",
                access::SCOPE_ABSTRACT_UNIX,
            ),
        ] {
            if !asked {
            } else if abi < 6 {
                self.refuse(c, needs(option, 6, "6.12", abi))?;
            } else {
                self.scoped |= scope;
            }
        }
        Ok(())
    }
}

/// Builds the ruleset `c` asks for, to be applied by the child (see `sys::child`); `None`
/// when nothing is asked for (or can be, with `--sandbox-best-effort`). Errors are usage
/// errors that name the option.
/// `workdir`: `--workdir`, where the child looks a relative command up.
pub fn prepare(
    c: &Confine,
    command: Option<&[u8]>,
    workdir: Option<&OsStr>,
) -> Result<Option<OwnedFd>, Error> {
    build(c, command, workdir, &mut |why| {
        log::warn!("{why}; left out (--sandbox-best-effort)");
    })
}

/// What `--explain` shows of the Landlock options: the ABI the kernel serves (or why there
/// is none), and, with `--sandbox-best-effort`, each restriction the start would leave
/// out; or the error the start would stop with. The ruleset is built as the start builds
/// it (every path opened, the command checked against `--exec-allow`), then dropped.
pub fn explain(
    c: &Confine,
    command: Option<&[u8]>,
    workdir: Option<&OsStr>,
) -> Result<(String, Vec<String>), Error> {
    let mut left_out = Vec::new();
    build(c, command, workdir, &mut |why| left_out.push(why))?;
    let abi = match landlock::abi() {
        Ok(abi) => format!("ABI {abi}"),
        Err(e) => format!("none: {}", describe(e)),
    };
    Ok((abi, left_out))
}

/// `prepare`, with what `--sandbox-best-effort` leaves out said to `warn`.
fn build(
    c: &Confine,
    command: Option<&[u8]>,
    workdir: Option<&OsStr>,
    warn: &mut dyn FnMut(String),
) -> Result<Option<OwnedFd>, Error> {
    if !c.any() {
        return Ok(None);
    }
    let p = plan(c, landlock::abi())?;
    for why in &p.left_out {
        warn(why.clone());
    }
    if p.is_empty() {
        return Ok(None);
    }
    if let Some(program) = command
        && !c.exec.is_empty()
    {
        check_command(program, &c.exec, workdir)?;
    }
    let ruleset = match landlock::create_ruleset(p.fs, p.net, p.scoped) {
        Ok(fd) => fd,
        Err(e) => {
            let why = format!(
                "{}: cannot confine the app: landlock_create_ruleset: {}",
                c.first_option(),
                describe(e)
            );
            return left_out(c, why, warn).map(|()| None);
        }
    };
    for (path, option, rights) in &p.paths {
        if let Err(why) = allow_beneath(&ruleset, path, *rights) {
            left_out(
                c,
                format!("{option}: '{}': {why}", shown(path.as_bytes())),
                warn,
            )?;
        }
    }
    for &(port, right) in &p.ports {
        if let Err(e) = landlock::allow_port(ruleset.as_fd(), port, right) {
            let option = match right {
                access::BIND_TCP => "--bind-tcp-allow",
                _ => "--connect-tcp-allow",
            };
            left_out(c, format!("{option}: port {port}: {}", describe(e)), warn)?;
        }
    }
    log::debug!(
        "landlock: handling fs {:#x}, net {:#x}, scopes {:#x}",
        p.fs,
        p.net,
        p.scoped
    );
    Ok(Some(ruleset))
}

/// With `--sandbox-best-effort` a warning; else the usage error.
fn left_out(c: &Confine, why: String, warn: &mut dyn FnMut(String)) -> Result<(), Error> {
    if c.best_effort {
        warn(why);
        Ok(())
    } else {
        Err(Error::usage(why))
    }
}

/// One rule: `rights` beneath `path` (only the rights a file can carry, if it is one).
fn allow_beneath(ruleset: &OwnedFd, path: &OsStr, rights: u64) -> Result<(), String> {
    let flags = OFlag::O_PATH | OFlag::O_CLOEXEC;
    let fd = nix::fcntl::open(path, flags, Mode::empty()).map_err(describe)?;
    let is_dir = nix::sys::stat::fstat(fd.as_fd())
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .map_err(describe)?;
    let rights = if is_dir {
        rights
    } else {
        rights & access::FOR_A_FILE
    };
    if rights == 0 {
        // A file under --write-allow with only directory rights asked: nothing to allow.
        return Ok(());
    }
    landlock::allow_beneath(ruleset.as_fd(), fd.as_fd(), rights)
        .map_err(|e| format!("landlock_add_rule: {}", describe(e)))
}

/// The command as exec will find it must lie beneath a path `--exec-allow` names: one
/// clear line now rather than "Permission denied" from the kernel. A command that is not
/// found at all is left to exec (status 127, as ever). A relative one is looked up in
/// `workdir`, as the child, which enters it before exec, finds it.
fn check_command(
    program: &[u8],
    allowed: &[OsString],
    workdir: Option<&OsStr>,
) -> Result<(), Error> {
    // The file exec will run, found as exec finds it; none is left to exec (127 or 126).
    let Ok(found) = crate::spawn::find(OsStr::from_bytes(program), workdir) else {
        return Ok(());
    };
    let real = std::fs::canonicalize(&found).map_or(found, |p| p.into_os_string());
    let beneath = allowed.iter().any(|dir| {
        let dir = std::fs::canonicalize(dir).map_or_else(|_| dir.clone(), |d| d.into_os_string());
        is_beneath(real.as_bytes(), dir.as_bytes())
    });
    if beneath {
        return Ok(());
    }
    Err(Error::usage(format!(
        "--exec-allow: '{}' ({}) is not beneath a path it allows",
        shown(program),
        shown(real.as_bytes())
    )))
}

/// `path` is `dir` or lies beneath it (both absolute and canonical).
fn is_beneath(path: &[u8], dir: &[u8]) -> bool {
    let dir = dir.strip_suffix(b"/").unwrap_or(dir);
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest.starts_with(b"/"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confine(f: impl FnOnce(&mut Confine)) -> Confine {
        let mut c = Confine::default();
        f(&mut c);
        c
    }

    #[test]
    fn beneath_means_the_directory_or_below_it() {
        assert!(is_beneath(b"/usr/bin/sh", b"/usr"));
        assert!(is_beneath(b"/usr/bin/sh", b"/usr/"));
        assert!(is_beneath(b"/usr", b"/usr"));
        assert!(is_beneath(b"/bin/sh", b"/"));
        assert!(!is_beneath(b"/usrlocal/sh", b"/usr"));
        assert!(!is_beneath(b"/opt/sh", b"/usr"));
    }

    #[test]
    fn nothing_asked_is_nothing_done_even_without_landlock() {
        let p = plan(&Confine::default(), Err(Errno::ENOSYS)).ok();
        assert!(p.is_some_and(|p| p.is_empty()));
    }

    #[test]
    fn write_allow_handles_every_write_right_the_abi_knows_and_allows_dev() {
        let c = confine(|c| c.write = vec!["/data".into()]);
        for (abi, extra) in [
            (1, 0),
            (2, access::REFER),
            (3, access::REFER | access::TRUNCATE),
            (7, access::REFER | access::TRUNCATE),
        ] {
            let p = plan(&c, Ok(abi)).expect("a plan");
            let rights = access::WRITE_FILE | access::REMOVE_AND_MAKE | extra;
            assert_eq!(p.fs, rights, "ABI {abi}");
            assert_eq!(
                p.paths,
                vec![
                    ("/data".into(), "--write-allow", rights),
                    ("/dev".into(), "--write-allow", rights)
                ]
            );
            assert_eq!((p.net, p.scoped), (0, 0));
        }
    }

    #[test]
    fn write_no_dev_alone_allows_no_write_anywhere() {
        let c = confine(|c| c.write_no_dev = true);
        let p = plan(&c, Ok(7)).expect("a plan");
        assert_ne!(p.fs & access::WRITE_FILE, 0);
        assert!(p.paths.is_empty());
    }

    #[test]
    fn exec_allow_handles_execute_only() {
        let c = confine(|c| c.exec = vec!["/app".into()]);
        let p = plan(&c, Ok(1)).expect("a plan");
        assert_eq!(p.fs, access::EXECUTE);
        assert_eq!(
            p.paths,
            vec![("/app".into(), "--exec-allow", access::EXECUTE)]
        );
    }

    #[test]
    fn ports_need_abi_4_and_scopes_abi_6() {
        let net = confine(|c| {
            c.bind = vec![8080];
            c.connect = vec![5432];
        });
        let err = plan(&net, Ok(3)).expect_err("refused").to_string();
        assert!(
            err.contains("--bind-tcp-allow needs Landlock ABI 4"),
            "{err}"
        );
        assert!(err.contains("serves ABI 3"), "{err}");
        let p = plan(&net, Ok(4)).expect("a plan");
        assert_eq!(p.net, access::BIND_TCP | access::CONNECT_TCP);
        assert_eq!(
            p.ports,
            vec![(8080, access::BIND_TCP), (5432, access::CONNECT_TCP)]
        );
        let scoped = confine(|c| c.scope_signals = true);
        let err = plan(&scoped, Ok(5)).expect_err("refused").to_string();
        assert!(
            err.contains("--scope-signals needs Landlock ABI 6"),
            "{err}"
        );
        let p = plan(&scoped, Ok(6)).expect("a plan");
        assert_eq!(p.scoped, access::SCOPE_SIGNAL);
        let unix = confine(|c| c.scope_abstract_unix = true);
        let p = plan(&unix, Ok(6)).expect("a plan");
        assert_eq!(p.scoped, access::SCOPE_ABSTRACT_UNIX);
    }

    #[test]
    fn no_landlock_fails_closed_naming_the_option() {
        let c = confine(|c| c.exec = vec!["/app".into()]);
        let err = plan(&c, Err(Errno::ENOSYS)).expect_err("refused");
        assert_eq!(err.status(), crate::status::USAGE);
        assert!(
            err.to_string().contains("--exec-allow: cannot confine"),
            "{err}"
        );
        let err = plan(&c, Err(Errno::EOPNOTSUPP)).expect_err("refused");
        assert!(err.to_string().contains("not enabled"), "{err}");
    }

    #[test]
    fn best_effort_leaves_out_what_cannot_be_applied() {
        let c = confine(|c| {
            c.best_effort = true;
            c.bind = vec![80];
            c.write = vec!["/data".into()];
        });
        let p = plan(&c, Ok(3)).expect("a plan");
        assert_eq!(p.net, 0);
        assert_ne!(p.fs, 0);
        assert_eq!(p.left_out.len(), 1, "{:?}", p.left_out);
        let p = plan(&c, Err(Errno::ENOSYS)).expect("a plan");
        assert!(p.is_empty() && p.left_out.len() == 1, "{p:?}");
        // Nothing left to restrict: no ruleset at all.
        let only_net = confine(|c| {
            c.best_effort = true;
            c.connect = vec![80];
        });
        assert!(plan(&only_net, Ok(3)).is_ok_and(|p| p.is_empty()));
    }
}
