//! The `headsweep` binary: glue over the library crates.

mod args;
mod commands;
mod exit;

use std::io::Write;

use clap::Parser;

fn main() {
    let args = args::Cli::parse();
    args::init_logging(args.verbose);
    let code = match commands::run(args.command) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                exit::SUCCESS
            } else {
                // Not eprintln!: it panics when stderr cannot be written (a
                // worker's log on a full disk).
                let _ = writeln!(std::io::stderr(), "error: {e:#}");
                exit::ERROR
            }
        }
    };
    std::process::exit(code);
}

/// Output piped into `head` is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
