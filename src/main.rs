//! reaper: PID 1 for containers.
//!
//! The whole program is `run`, in order (each step's rules live in its module):
//!
//! 1. block every signal reaper handles, before anything can race  (signals)
//! 2. read the command line and environment                        (cli)
//! 3. set up logging; become a subreaper unless PID 1              (logging, setup)
//! 4. start the command in its own process group                   (spawn)
//!    then close reaper's copies of inherited descriptors              (sys::fd)
//!    and hold /proc open for the teardown                            (procs)
//! 5. sleep until a signal; reap on SIGCHLD, forward the rest,
//!    until the main child exits (--wait-all: until none is left)  (supervise, reap)
//!    (--stop-delay holds the first ending signal; --restart-signal starts the command again)
//! 6. tear down what is left: SIGTERM, grace period, SIGKILL       (shutdown)
//!    to the processes that are reaper's to end                       (shutdown::scope)
//!
//! Steps 5 and 6 talk to the kernel through `kernel::Kernel`, made once here for the
//! scope reaper stands in, so that both are unit-tested without processes.
//! 7. exit with the main child's status (--wait-all: see supervise)
//!
//! Errors are `error::Error`, which carries the exit status (every status is named in
//! `status`); this is the one place that prints a fatal one. `unsafe` is denied everywhere
//! but in `sys`, the one layer of raw system calls (the C entry point and the child
//! between clone and exec included), where each says why it is sound.
//!
//! `no_main`: std's runtime start-up would set SIGPIPE to ignored and open /dev/null on
//! closed standard descriptors before we could see what we inherited, and the
//! application must get both exactly as reaper got them.
#![cfg_attr(not(test), no_main)]
#![deny(unsafe_code)]

mod cli;
mod error;
mod kernel;
mod logging;
mod procs;
mod reap;
mod setup;
mod shutdown;
mod signals;
mod signo;
mod spawn;
mod stat;
mod status;
mod supervise;
#[allow(unsafe_code)]
mod sys;
mod terminal;
mod user;

use std::ffi::OsString;

use nix::errno::Errno;

use cli::{Mode, Request};
use error::Error;

fn run(args: &[OsString]) -> Result<u8, Error> {
    let inherited = signals::take_over()?;
    setup::guard_closed_stdio();
    let config = match cli::parse(args.get(1..).unwrap_or_default(), |k| std::env::var_os(k))? {
        Request::Run(config) => *config,
        Request::Help => return print_stdout(cli::help()),
        Request::Version => return print_stdout(&cli::version()),
        Request::License => return print_stdout(&cli::license()),
    };
    logging::init(config.log_level.0, config.log_spec.as_deref());
    config.warnings.iter().for_each(|w| log::warn!("{w}"));
    let place = setup::become_init(config.pdeath_signal);

    let (main_child, terminal, user) = match &config.mode {
        Mode::Command(argv) => start(argv, &config, inherited)?,
        Mode::Pause => (None, None, None),
    };
    // From here on reaper may no longer bail: whatever happens, it reaps and passes on
    // the application's status.
    let own = [
        terminal.as_ref().map(terminal::Terminal::raw_fd),
        logging::own_fd(),
    ];
    sys::fd::close_inherited(&own.into_iter().flatten().collect::<Vec<_>>());
    // Taken now, while a descriptor is free, for a teardown that may find none.
    procs::hold(place.own_pid());
    // A restart starts the command in the directory the first run started in: reaper's.
    if config.restart_signal.is_none() {
        setup::leave_working_directory();
    }
    // `--restart-signal`: the same command, environment, user, directory and terminal.
    let mut again = || match &config.mode {
        Mode::Command(argv) => start_again(argv, &config, inherited, user.as_ref(), &terminal),
        Mode::Pause => None,
    };
    let scope = shutdown::scope::Scope::of(place, main_child);
    let mut kernel = kernel::Os(scope, &mut again);
    let mut ended =
        supervise::supervise(&mut kernel, &config, place, main_child, terminal.as_ref());
    terminal.iter().for_each(terminal::Terminal::take_back);
    let (spare, warn) = (ended.asked_to_end, config.warn_on_reap);
    shutdown::teardown(&mut kernel, spare, config.grace_period, |pid, status| {
        ended.note_orphan(pid, status, warn);
    });
    log::info!("exiting with status {}", ended.status);
    logging::last_word();
    Ok(ended.status)
}

/// The command's first start: its pid, the controlling terminal, and the user it runs as.
type Started = (
    Option<libc::pid_t>,
    Option<terminal::Terminal>,
    Option<user::Identity>,
);

/// Starts the command as `--user` and `--workdir` say, in the terminal's foreground when
/// reaper has it.
fn start(
    argv: &[OsString],
    config: &cli::Config,
    inherited: signals::Inherited,
) -> Result<Started, Error> {
    let user = config.user.as_deref().map(user::lookup).transpose()?;
    let terminal = terminal::Terminal::controlling();
    let foreground = terminal.as_ref().and_then(terminal::Terminal::for_the_app);
    let workdir = config.workdir.as_deref();
    let child = spawn::spawn(argv, inherited, foreground, user.as_ref(), workdir)?;
    if let Some(user) = &user {
        setup::warn_if_unable_to_signal(user.uid);
    }
    Ok((Some(child), terminal, user))
}

/// Starts the command again (`--restart-signal`) as it was first started, with the user
/// looked up then. Descriptors above 2 that reaper inherited were closed after the first
/// start: the new run has only what reaper kept.
fn start_again(
    argv: &[OsString],
    config: &cli::Config,
    inherited: signals::Inherited,
    user: Option<&user::Identity>,
    terminal: &Option<terminal::Terminal>,
) -> Option<libc::pid_t> {
    let foreground = terminal
        .as_ref()
        .and_then(terminal::Terminal::for_the_next_run);
    let workdir = config.workdir.as_deref();
    spawn::spawn(argv, inherited, foreground, user, workdir)
        .map_err(|e| log::error!("restart: {e}"))
        .ok()
}

/// Prints what was asked for (`--help`, `--version`); one that could not be written (a
/// full disk, `>/dev/full`, a closed pipe) is an error, status 1, as in coreutils.
///
/// Plain writes to fd 1, not through std's `Stdout`, whose lock and line buffer cost the
/// binary more than they give one text written once. A closed stdout takes the text
/// silently, as std's does.
fn print_stdout(text: &str) -> Result<u8, Error> {
    let stdout = std::io::stdout();
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        match nix::unistd::write(&stdout, rest) {
            // What std's `write_all` reports as "failed to write whole buffer".
            Ok(0) => return Err(write_error(Errno::EIO)),
            Ok(n) => rest = rest.get(n..).unwrap_or_default(),
            Err(Errno::EINTR) => {}
            Err(Errno::EBADF) => break,
            Err(e) => return Err(write_error(e)),
        }
    }
    Ok(status::OK)
}

fn write_error(errno: Errno) -> Error {
    Error::other(format!("write error: {}", error::describe(errno)))
}

/// What the C entry point (`sys::entry`) returns: `run`'s status, or, after printing it,
/// the fatal error's.
fn exit_status(args: &[OsString]) -> u8 {
    run(args).unwrap_or_else(|e| {
        logging::print_line(&e.to_string());
        e.status()
    })
}
