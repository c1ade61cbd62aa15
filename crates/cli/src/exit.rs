//! Exit codes, documented in the README.

/// Everything asked for was done.
pub const SUCCESS: i32 = 0;
/// An error: bad input, a failed run, an I/O problem. The message says which.
pub const ERROR: i32 = 1;
// 2 — a usage error (unknown flag, missing argument) — is clap's own exit code.
/// `run`: the sweep finished, but some runs failed.
pub const SOME_FAILED: i32 = 3;
/// `run`: stopped by Ctrl-C or SIGTERM; interrupted runs went back to pending.
pub const INTERRUPTED: i32 = 130;
// 75 — `worker` only: the machine could not keep a run's files or write the
// store; its runs went back to pending — is headsweep_runner::WORKER_EXIT_MACHINE.
