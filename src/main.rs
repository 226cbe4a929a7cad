//! `lbsim`: the command line. Each subcommand is a thin layer over the library (see `cli/`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    die_quietly_on_a_closed_pipe();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `lbsim strategies | head -1`: once the reader has gone, the next write to stdout should end
/// lbsim silently, as it ends `cat` or `grep`. Rust ignores SIGPIPE, so the write fails with
/// EPIPE and `println!` panics (exit 101, a backtrace hint on stderr). Restoring the default
/// action, which ends the process quietly on that write, fixes every print at once, present
/// and future, where catching `BrokenPipe` would mean replacing each `println!`. It loses
/// nothing: every command writes its files before printing to stdout (or writes none), and a
/// sweep's journal is synced run by run. Sockets are unaffected: std sends with
/// MSG_NOSIGNAL (SO_NOSIGPIPE on macOS), so a server that hangs up on `lbsim loadgen` is
/// still an error recorded for that request, not the end of the replay.
#[cfg(unix)]
fn die_quietly_on_a_closed_pipe() {
    // SAFETY: sets a signal's disposition to the default action, before any other thread
    // exists; no memory is passed.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn die_quietly_on_a_closed_pipe() {}
