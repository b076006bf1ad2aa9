//! reaper: PID 1 for containers.
//!
//! The whole program, in order (each step's rules live in its module):
//!
//! 1. block every signal reaper handles, before anything can race  (signals)
//! 2. read the command line and environment                        (cli)
//! 3. set up logging; become a subreaper unless PID 1              (logging, setup)
//! 4. start the command in its own process group                   (spawn)
//! 5. sleep until a signal; reap on SIGCHLD, forward the rest,
//!    until the main child exits                                    (supervise, reap)
//! 6. tear down what is left: SIGTERM, grace period, SIGKILL       (shutdown)
//! 7. exit with the main child's status
//!
//! `no_main`: std's runtime start-up would set SIGPIPE to ignored and open /dev/null on
//! closed standard descriptors before we could see what we inherited, and the
//! application must get both exactly as reaper got them.
#![cfg_attr(not(test), no_main)]

mod cli;
mod logging;
mod os_error;
mod reap;
mod setup;
mod shutdown;
mod signals;
mod spawn;
mod supervise;

use std::ffi::{CStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStringExt;

use cli::{Mode, Request};
use os_error::OsError;

// Under `cargo test` the test harness brings its own `main`.
#[cfg_attr(not(test), unsafe(export_name = "main"))]
#[cfg_attr(test, allow(dead_code))]
extern "C" fn c_main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    // SAFETY: the C runtime passes argc valid, NUL-terminated strings in argv.
    let args = unsafe { args_from_c(argc, argv) };
    libc::c_int::from(run(&args))
}

fn run(args: &[OsString]) -> u8 {
    let inherited_mask = match signals::block_handled() {
        Ok(mask) => mask,
        Err(e) => {
            logging::print_line(&format!("failed to block signals: {}", OsError::from(e)));
            return 1;
        }
    };
    setup::guard_closed_stdio();
    let sigchld_was_ignored = signals::take_back_sigchld();
    // SAFETY: getpid and getppid have no preconditions.
    let (own_pid, parent) = unsafe { (libc::getpid(), libc::getppid()) };

    let config = match cli::parse(args.get(1..).unwrap_or_default(), |k| std::env::var_os(k)) {
        Ok(Request::Run(config)) => config,
        Ok(Request::Help) => return print_stdout(cli::HELP),
        Ok(Request::Version) => return print_stdout(&cli::version()),
        Err(usage) => {
            logging::print_line(&usage.to_string());
            return 2;
        }
    };
    // An empty REAPER_LOG (a common way to leave it unset in compose files) is unset.
    let log_spec = std::env::var_os("REAPER_LOG")
        .filter(|s| !s.is_empty())
        .map(|s| s.to_string_lossy().into_owned());
    logging::init(config.log_level, log_spec.as_deref());
    config.warnings.iter().for_each(|w| log::warn!("{w}"));

    if own_pid != 1 {
        setup::become_subreaper();
    }
    if let Some(sig) = config.pdeath_signal {
        setup::set_pdeath_signal(sig, parent);
    }

    let (status, app_group) = match &config.mode {
        Mode::Pause => {
            setup::leave_working_directory();
            (supervise::pause(config.warn_on_reap, own_pid), None)
        }
        Mode::Command(argv) => match start(argv, inherited_mask, sigchld_was_ignored) {
            Some(child) => (supervisor(&config, child, own_pid).run(), Some(child)),
            None => return 1,
        },
    };

    let scope = if own_pid == 1 {
        shutdown::Scope::Namespace
    } else {
        shutdown::Scope::Descendants { own_pid, app_group }
    };
    shutdown::teardown(scope, config.grace_period, |pid, status| {
        supervise::report_orphan(pid, status, config.warn_on_reap)
    });
    log::info!("exiting with status {status}");
    status
}

/// Starts the command; `None` when reaper could not create it at all (exit 1). A command
/// that could not be executed has a child all the same, which exits 126 or 127 and is
/// reaped like any other.
fn start(argv: &[OsString], mask: signals::SigSet, ignore_sigchld: bool) -> Option<libc::pid_t> {
    let child = match spawn::spawn(argv, mask, ignore_sigchld) {
        Ok(pid) => pid,
        Err(e @ spawn::Error::Setup { .. }) => {
            log::error!("{e}");
            return None;
        }
        Err(e @ spawn::Error::Exec { pid, .. }) => {
            log::error!("{e}");
            pid
        }
    };
    setup::leave_working_directory();
    Some(child)
}

fn supervisor(
    config: &cli::Config,
    child: libc::pid_t,
    own_pid: libc::pid_t,
) -> supervise::Supervisor {
    supervise::Supervisor {
        child,
        single_child: config.single_child,
        rewrite: config.rewrite,
        remap_exit: config.remap_exit,
        warn_on_reap: config.warn_on_reap,
        own_pid,
    }
}

fn print_stdout(text: &str) -> u8 {
    let mut out = std::io::stdout();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    0
}

/// # Safety
/// `argv` must hold `argc` valid NUL-terminated strings.
unsafe fn args_from_c(argc: libc::c_int, argv: *const *const libc::c_char) -> Vec<OsString> {
    (0..usize::try_from(argc).unwrap_or(0))
        // SAFETY: guaranteed by the caller.
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) })
        .map(|s| OsString::from_vec(s.to_bytes().to_vec()))
        .collect()
}
