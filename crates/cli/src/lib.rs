//! The command line, shared by the two executables: `headsweep`, glue over
//! the library crates, and `headsweep-train` beside it, which adds what
//! needs libtorch (`train`, `explain`, `worker`).
//!
//! `headsweep` never loads libtorch (400 MB and 0.4 s per process): report
//! commands start in milliseconds, and the commands that train hand their
//! arguments to `headsweep-train`, which parses the same command line.
//! Nothing in this library links libtorch; the [`Torch`] a binary passes in
//! decides where training happens.

pub mod args;
pub mod commands;
pub mod exit;

use std::io::Write;

use clap::Parser;

pub use args::Command;

/// What needs libtorch, supplied by the executable.
pub trait Torch {
    /// Carries out `train`, `explain`, `worker` or `devices`.
    fn run(&self, command: Command) -> anyhow::Result<i32>;
    /// How many CUDA devices libtorch can use.
    fn cuda_devices(&self) -> anyhow::Result<usize>;
}

/// `headsweep-train`, beside the running executable.
pub fn train_exe() -> anyhow::Result<std::path::PathBuf> {
    use anyhow::Context;
    let exe = std::env::current_exe().context("finding the headsweep executable")?;
    let train = exe.with_file_name("headsweep-train");
    anyhow::ensure!(
        train.is_file(),
        "{} is missing: it trains (it links libtorch) and belongs beside {} (cargo build and cargo install put both there)",
        train.display(),
        exe.display()
    );
    Ok(train)
}

/// Parses the command line, runs the command, and exits with its code.
pub fn main(torch: &dyn Torch) -> ! {
    let args = args::Cli::parse();
    args::init_logging(args.verbose);
    let code = match commands::run(args.command, torch) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                exit::SUCCESS
            } else {
                // Not eprintln!: it panics when stderr cannot be written (a
                // worker's log on a full disk).
                let _ = writeln!(std::io::stderr(), "error: {}", message(&e));
                exit::ERROR
            }
        }
    };
    std::process::exit(code);
}

/// The error and its causes joined by ": ", each cause once: many errors
/// (ours with a `source` field, sqlx's) already end with their cause's
/// text, which `{:#}` would print again.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Output piped into `head` is not a failure.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::message;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot open {what}: {source}")]
    struct Outer {
        what: &'static str,
        source: Inner,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("disk full")]
    struct Inner;

    #[test]
    fn a_cause_already_in_its_errors_text_is_printed_once() {
        let e = anyhow::Error::new(Outer {
            what: "the store",
            source: Inner,
        })
        .context("registering sweep s");
        assert_eq!(
            message(&e),
            "registering sweep s: cannot open the store: disk full"
        );
        assert_eq!(
            format!("{e:#}"),
            "registering sweep s: cannot open the store: disk full: disk full"
        );
    }

    #[test]
    fn causes_not_in_the_text_are_all_printed() {
        let e = anyhow::Error::new(Inner)
            .context("writing run r")
            .context("storing results");
        assert_eq!(message(&e), "storing results: writing run r: disk full");
    }
}
