//! The one place a worker's command line is written. `run` starts workers
//! from it, `slurm` writes it into the batch script, and the binary's tests
//! parse what it writes with the real argument parser.

use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variable a worker reads its store from when the store
/// is not on its command line (`headsweep worker --db` falls back to it).
pub const DB_ENV: &str = "HEADSWEEP_DB";

/// How a worker learns which store to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbVia {
    /// `--db URL` on the command line (visible to every user in `ps`).
    Argv,
    /// [`DB_ENV`] in the worker's environment.
    Env,
}

/// Which number a worker has among its launch's workers (it names the
/// worker, and its log file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerSlot {
    Fixed(usize),
    /// The Slurm array task's index, read by the shell when the task starts.
    SlurmArrayTask,
}

/// Everything a worker process is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The executable, run as `EXE worker …`.
    pub exe: PathBuf,
    pub db: String,
    pub db_via: DbVia,
    pub sweep: String,
    /// `cpu` or `cuda:N`.
    pub device: String,
    /// libtorch threads per run.
    pub threads: u32,
    /// Seconds a claim lasts without a heartbeat (at least 1).
    pub lease_secs: u64,
    pub results: PathBuf,
    pub slot: WorkerSlot,
    /// Most runs trained together as one fused model (at least 1).
    pub fuse: usize,
}

/// One argument: a literal, or a shell expansion the batch script leaves
/// to the shell.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Arg {
    Literal(OsString),
    ShellExpansion(&'static str),
}

impl WorkerCommand {
    fn parts(&self) -> Vec<Arg> {
        let lit = |s: &dyn AsRef<std::ffi::OsStr>| Arg::Literal(s.as_ref().to_os_string());
        let mut v = vec![lit(&"worker")];
        if self.db_via == DbVia::Argv {
            v.extend([lit(&"--db"), lit(&self.db)]);
        }
        v.extend([
            lit(&"--sweep"),
            lit(&self.sweep),
            lit(&"--device"),
            lit(&self.device),
            lit(&"--threads"),
            lit(&self.threads.max(1).to_string()),
            lit(&"--lease"),
            lit(&self.lease_secs.max(1).to_string()),
            lit(&"--results"),
            lit(&self.results),
            lit(&"--slot"),
        ]);
        v.push(match self.slot {
            WorkerSlot::Fixed(n) => lit(&n.to_string()),
            WorkerSlot::SlurmArrayTask => Arg::ShellExpansion("\"${SLURM_ARRAY_TASK_ID:-0}\""),
        });
        v.extend([
            lit(&"--fuse"),
            lit(&self.fuse.max(1).to_string()),
            lit(&"-v"),
        ]);
        v
    }

    /// The arguments after the executable, for starting the process
    /// directly. A Slurm slot cannot be expanded here and is written as 0.
    pub fn args(&self) -> Vec<OsString> {
        self.parts()
            .into_iter()
            .map(|a| match a {
                Arg::Literal(s) => s,
                Arg::ShellExpansion(_) => "0".into(),
            })
            .collect()
    }

    /// Environment variables the worker needs besides its arguments.
    pub fn envs(&self) -> Vec<(&'static str, String)> {
        match self.db_via {
            DbVia::Env => vec![(DB_ENV, self.db.clone())],
            DbVia::Argv => Vec::new(),
        }
    }

    /// A `std::process::Command` ready to start (standard streams are the
    /// caller's).
    pub fn command(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(&self.exe);
        cmd.args(self.args());
        for (k, v) in self.envs() {
            cmd.env(k, v);
        }
        cmd
    }

    /// The command as one POSIX shell line, `exec`'d so that signals reach
    /// the worker: every literal quoted, expansions left to the shell, the
    /// environment as assignments in front.
    pub fn shell_line(&self) -> String {
        let env: Vec<String> = self
            .envs()
            .into_iter()
            .map(|(k, v)| format!("{k}={}", shell_quote(&v)))
            .collect();
        self.line(env)
    }

    /// [`Self::shell_line`] without the environment: the variables must
    /// reach the shell some other way (a batch script whose job inherits
    /// them), so that their values are written nowhere.
    pub fn shell_line_without_env(&self) -> String {
        self.line(Vec::new())
    }

    fn line(&self, env: Vec<String>) -> String {
        let mut words: Vec<String> = vec!["exec".into()];
        words.extend(env);
        words.push(shell_quote(&self.exe.to_string_lossy()));
        for a in self.parts() {
            words.push(match a {
                Arg::Literal(s) => {
                    let s = s.to_string_lossy();
                    if is_plain(&s) {
                        s.into_owned()
                    } else {
                        shell_quote(&s)
                    }
                }
                Arg::ShellExpansion(e) => e.to_string(),
            });
        }
        words.join(" ")
    }
}

/// Quotes `s` for a POSIX shell: single quotes, each `'` as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Needs no quoting in a shell: flags and numbers.
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        && !s.starts_with('~')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> WorkerCommand {
        WorkerCommand {
            exe: "/opt/head sweep/headsweep".into(),
            db: "postgres://u:p@h/db".into(),
            db_via: DbVia::Argv,
            sweep: "it's".into(),
            device: "cuda:0".into(),
            threads: 2,
            lease_secs: 60,
            results: "/shared/results".into(),
            slot: WorkerSlot::SlurmArrayTask,
            fuse: 4,
        }
    }

    #[test]
    fn a_shell_line_quotes_every_literal_and_expands_the_array_index() {
        assert_eq!(
            cmd().shell_line(),
            "exec '/opt/head sweep/headsweep' worker --db 'postgres://u:p@h/db' --sweep 'it'\\''s' --device cuda:0 --threads 2 --lease 60 --results '/shared/results' --slot \"${SLURM_ARRAY_TASK_ID:-0}\" --fuse 4 -v"
        );
    }

    #[test]
    fn the_store_can_travel_in_the_environment_instead_of_argv() {
        let c = WorkerCommand {
            db_via: DbVia::Env,
            slot: WorkerSlot::Fixed(3),
            ..cmd()
        };
        let args: Vec<String> = c
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(!args.iter().any(|a| a.contains("postgres")), "{args:?}");
        assert_eq!(c.envs(), [(DB_ENV, "postgres://u:p@h/db".to_string())]);
        assert!(c.shell_line().starts_with(
            "exec HEADSWEEP_DB='postgres://u:p@h/db' '/opt/head sweep/headsweep' worker --sweep"
        ));
        assert_eq!(
            args[args.iter().position(|a| a == "--slot").unwrap() + 1],
            "3"
        );
    }
}
