//! Exit codes, documented in the README.

/// Everything asked for was done.
pub const SUCCESS: i32 = 0;
/// An error: bad input, a failed run, an I/O problem. The message says which.
pub const ERROR: i32 = 1;
// 2 — a usage error (unknown flag, missing argument) — is clap's own exit code.
