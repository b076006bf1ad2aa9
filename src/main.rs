//! reaper: PID 1 for containers.
//!
//! The whole program is `run`, in order (each step's rules live in its module):
//!
//! 1. block every signal reaper handles, before anything can race  (signals)
//! 2. read the command line and environment                        (cli)
//!    (--explain: say what the rest would do, and stop)              (explain)
//! 3. set up logging; become a subreaper unless PID 1              (logging, setup)
//!    and find the cgroup's out-of-memory kill count                  (oom)
//! 4. start the command in its own process group                   (spawn)
//!    then close reaper's copies of inherited descriptors              (sys::fd)
//!    and hold /proc open for the teardown                            (procs)
//! 5. sleep until a signal; reap on SIGCHLD, forward the rest,
//!    until the main child exits (--wait-all: until none is left;  (supervise, reap)
//!    --on-oom exit: until the out-of-memory killer kills one; --stop-delay holds the
//!    first ending signal; --restart-signal starts the command again)
//! 6. tear down what is left: SIGTERM, grace period, SIGKILL       (shutdown)
//!    to the processes that are reaper's to end                       (shutdown::scope)
//!
//! Steps 5 and 6 talk to the kernel through `kernel::Kernel`, made once here for the
//! scope reaper stands in, so that both are unit-tested without processes.
//! 7. when that status is a failure, say why in the termination log (termination)
//! 8. exit with the main child's status (--wait-all: see supervise)
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
mod expand;
mod explain;
mod kernel;
mod logging;
mod oom;
mod procs;
mod reap;
mod sandbox;
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
mod termination;
mod user;

use std::ffi::OsString;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;

use nix::errno::Errno;

use cli::{Mode, Request};
use error::Error;

fn run(args: &[OsString]) -> Result<u8, Error> {
    let inherited = signals::take_over()?;
    setup::guard_closed_stdio();
    let config = match request(args)? {
        Ok(config) => config,
        Err(printed) => return Ok(printed),
    };
    logging::init(config.log_level.0, config.log_spec.as_deref());
    config.warnings.iter().for_each(|w| log::warn!("{w}"));
    let place = setup::become_init(config.pdeath_signal);
    // Before the app starts: what it counts from.
    let oom = oom::Counter::open(config.on_oom == cli::OnOom::Exit);
    let started = match &config.mode {
        Mode::Command(argv) => start(argv, &config, inherited)
            .inspect_err(|e| termination::write(&config.termination_log, e))?,
        Mode::Pause => Started::default(),
    };
    // From here on reaper may no longer bail: whatever happens, it reaps and passes on
    // the application's status.
    settle_in(&started, &config, place);
    // Why the last run could not run, if so: a restart's replaces the first start's.
    let mut cannot_run = started.cannot_run.clone();
    let mut again = || start_again(&started, &config, inherited, &mut cannot_run);
    let scope = shutdown::scope::Scope::of(place, started.main_child);
    let mut kernel = kernel::Os {
        scope,
        oom,
        again: &mut again,
    };
    let terminal = started.terminal.as_ref();
    let mut ended = supervise::supervise(&mut kernel, &config, place, started.main_child, terminal);
    terminal.iter().for_each(|t| t.take_back());
    let (spare, warn) = (ended.asked_to_end, config.warn_on_reap);
    shutdown::teardown(&mut kernel, spare, config.grace_period, |exit| {
        ended.note_orphan(exit, warn);
    });
    say_why(&config, cannot_run.as_deref(), &ended);
    log::info!("exiting with status {}", ended.status);
    logging::last_word();
    Ok(ended.status)
}

/// When the container ends in failure, why, in the termination log (`--termination-log`).
fn say_why(config: &cli::Config, cannot_run: Option<&str>, ended: &supervise::Ended) {
    if ended.status == status::OK {
        return;
    }
    match (cannot_run, ended.why) {
        (Some(why), _) => termination::write(&config.termination_log, &why),
        (None, termination::Why::Nothing) => {}
        (None, why) => termination::write(&config.termination_log, &why),
    }
}

/// What to run (`Ok`), or the status of what was printed instead (`--help`, `--version`,
/// `--license`, `--explain`).
fn request(args: &[OsString]) -> Result<Result<cli::Config, u8>, Error> {
    let printed = match cli::parse(args.get(1..).unwrap_or_default(), |k| std::env::var_os(k))? {
        Request::Run(config) => return Ok(Ok(*config)),
        Request::Help => print_stdout(cli::help())?,
        Request::Version => print_stdout(&cli::version())?,
        Request::License => print_stdout(&cli::license())?,
        Request::Explain(config) => {
            let (text, outcome) = explain::explain(&config)?;
            print_stdout(&text)?;
            outcome.map(|()| status::OK)?
        }
    };
    Ok(Err(printed))
}

/// Once the command runs: reaper's copies of what it inherited closed, `/proc` held for a
/// teardown that may find no descriptor free, and the working directory left (unless a
/// restart must start the command there again).
fn settle_in(started: &Started, config: &cli::Config, place: setup::Place) {
    let own = [
        started.terminal.as_ref().map(terminal::Terminal::raw_fd),
        logging::own_fd(),
    ];
    sys::fd::close_inherited(&own.into_iter().flatten().collect::<Vec<_>>());
    procs::hold(place.own_pid());
    if config.restart_signal.is_none() {
        setup::leave_working_directory();
    }
}

/// What `start` left: the main child, reaper's controlling terminal, why the command could
/// not run, if so (the child then exits 126 or 127), and what a restart starts again: the
/// command after `--expand-env` and the user it runs as.
#[derive(Default)]
struct Started {
    main_child: Option<libc::pid_t>,
    terminal: Option<terminal::Terminal>,
    cannot_run: Option<String>,
    argv: Vec<OsString>,
    user: Option<user::Identity>,
}

/// Starts the command as `--user`, `--workdir`, `--expand-env` and the Landlock options
/// say, in the terminal's foreground when reaper has it.
fn start(
    argv: &[OsString],
    config: &cli::Config,
    inherited: signals::Inherited,
) -> Result<Started, Error> {
    let (user, argv) = spawn::prepare(argv, config.user.as_deref(), config.expand_env)?;
    let terminal = terminal::Terminal::controlling();
    let foreground = terminal.as_ref().and_then(terminal::Terminal::for_the_app);
    let (child, cannot_run) = launch(&argv, config, inherited, foreground, user.as_ref())?;
    if let Some(user) = &user {
        setup::warn_if_unable_to_signal(user.uid);
    }
    Ok(Started {
        main_child: Some(child),
        terminal,
        cannot_run,
        argv,
        user,
    })
}

/// One start of the command: its Landlock ruleset built (and dropped, closed, once the
/// child has confined itself with it), then the child.
fn launch(
    argv: &[OsString],
    config: &cli::Config,
    inherited: signals::Inherited,
    foreground: Option<&terminal::Terminal>,
    user: Option<&user::Identity>,
) -> Result<(libc::pid_t, Option<String>), Error> {
    let workdir = config.workdir.as_deref();
    let program = argv.first().map(|a| a.as_bytes());
    let ruleset = sandbox::prepare(&config.confine, program, workdir)?;
    let confine = ruleset
        .as_ref()
        .map(|r| (r.as_fd(), config.confine.best_effort));
    spawn::spawn(argv, inherited, foreground, user, workdir, confine)
}

/// Starts the command again (`--restart-signal`) as it was first started: the same words
/// (expanded then), the user looked up then, the same Landlock rules. Descriptors above 2
/// that reaper inherited were closed after the first start: the new run has only what
/// reaper kept. Why the new run cannot run, or could not be started at all, goes to
/// `cannot_run`, for the termination log: it is the last run's.
fn start_again(
    started: &Started,
    config: &cli::Config,
    inherited: signals::Inherited,
    cannot_run: &mut Option<String>,
) -> Option<libc::pid_t> {
    if started.argv.is_empty() {
        return None;
    }
    let foreground = started
        .terminal
        .as_ref()
        .and_then(terminal::Terminal::for_the_next_run);
    launch(
        &started.argv,
        config,
        inherited,
        foreground,
        started.user.as_ref(),
    )
    .map(|(child, why)| {
        *cannot_run = why;
        child
    })
    .map_err(|e| {
        log::error!("restart: {e}");
        *cannot_run = Some(e.to_string());
    })
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
