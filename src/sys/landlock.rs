//! Landlock's three system calls (Linux 5.13): the ruleset reaper builds before the clone,
//! and the one call the child makes to confine itself.
//!
//! They stay raw: nix wraps none of them, and libc's numbers are missing on some of the
//! targets reaper builds for. The numbers are the generic table's, the same on every
//! architecture reaper builds for (only mips adds an offset).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

const CREATE_RULESET: libc::c_long = 444;
const ADD_RULE: libc::c_long = 445;
const RESTRICT_SELF: libc::c_long = 446;

/// `landlock_create_ruleset`'s flag that asks for the ABI version instead.
const CREATE_RULESET_VERSION: libc::c_uint = 1;
const RULE_PATH_BENEATH: libc::c_uint = 1;
const RULE_NET_PORT: libc::c_uint = 2;

/// `struct landlock_ruleset_attr`, the three fields ABI 6 knows. Older kernels take the
/// larger struct as long as the fields they do not know are zero.
#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

/// `struct landlock_path_beneath_attr` (packed in the kernel's header).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `struct landlock_net_port_attr`.
#[repr(C)]
struct NetPortAttr {
    allowed_access: u64,
    port: u64,
}

fn result(ret: libc::c_long) -> Result<libc::c_long, Errno> {
    if ret < 0 { Err(Errno::last()) } else { Ok(ret) }
}

/// The Landlock ABI the kernel serves (1 for Linux 5.13, 7 for 6.15); ENOSYS without
/// Landlock in the kernel or where a seccomp filter refuses it, EOPNOTSUPP when it is built
/// in but not enabled at boot.
pub fn abi() -> Result<u32, Errno> {
    // SAFETY: with the version flag the kernel reads no attribute (NULL, size 0).
    let ret = unsafe {
        libc::syscall(
            CREATE_RULESET,
            std::ptr::null::<RulesetAttr>(),
            0usize,
            CREATE_RULESET_VERSION,
        )
    };
    result(ret).map(|v| u32::try_from(v).unwrap_or(0))
}

/// A new ruleset handling these accesses (close-on-exec, as every Landlock descriptor).
pub fn create_ruleset(fs: u64, net: u64, scoped: u64) -> Result<OwnedFd, Errno> {
    let attr = RulesetAttr {
        handled_access_fs: fs,
        handled_access_net: net,
        scoped,
    };
    // SAFETY: `attr` is live for the call, and its size is the one passed.
    let ret = unsafe {
        libc::syscall(
            CREATE_RULESET,
            &attr as *const RulesetAttr,
            size_of::<RulesetAttr>(),
            0u32,
        )
    };
    let fd = i32::try_from(result(ret)?).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this descriptor, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Allows `access` beneath the file or directory `parent` (opened with O_PATH).
pub fn allow_beneath(ruleset: BorrowedFd, parent: BorrowedFd, access: u64) -> Result<(), Errno> {
    let attr = PathBeneathAttr {
        allowed_access: access,
        parent_fd: parent.as_raw_fd(),
    };
    // SAFETY: both descriptors are borrowed for the call; `attr` is live for it.
    let ret = unsafe {
        libc::syscall(
            ADD_RULE,
            ruleset.as_raw_fd(),
            RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        )
    };
    result(ret).map(drop)
}

/// Allows `access` (bind, connect) on TCP port `port`.
pub fn allow_port(ruleset: BorrowedFd, port: u16, access: u64) -> Result<(), Errno> {
    let attr = NetPortAttr {
        allowed_access: access,
        port: u64::from(port),
    };
    // SAFETY: the descriptor is borrowed for the call; `attr` is live for it.
    let ret = unsafe {
        libc::syscall(
            ADD_RULE,
            ruleset.as_raw_fd(),
            RULE_NET_PORT,
            &attr as *const NetPortAttr,
            0u32,
        )
    };
    result(ret).map(drop)
}

/// Confines the calling thread, and everything it starts, to `ruleset`: the child's call,
/// between clone and exec, after `prctl(PR_SET_NO_NEW_PRIVS)`. A raw system call, so
/// async-signal-safe; allocates nothing. The errno when it fails.
#[inline(always)]
pub fn restrict_self(ruleset: BorrowedFd) -> Result<(), i32> {
    // SAFETY: an integer argument and a borrowed descriptor.
    let ret = unsafe { libc::syscall(RESTRICT_SELF, ruleset.as_raw_fd(), 0u32) };
    if ret < 0 {
        Err(Errno::last_raw())
    } else {
        Ok(())
    }
}
