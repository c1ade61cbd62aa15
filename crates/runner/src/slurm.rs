//! Slurm batch scripts: one job array whose tasks are `headsweep worker`s
//! sharing a store. Slurm does the scheduling; the store's claims and
//! leases make each run train exactly once, whatever tasks start or die.

use std::path::{Path, PathBuf};

use crate::{DbVia, RunnerError, WorkerCommand, DB_ENV};

/// What goes into the batch script: the worker every array task runs (its
/// slot should be [`crate::WorkerSlot::SlurmArrayTask`], its device
/// `cuda:0` with GPUs, else `cpu`, its threads `cpus_per_task`) and the
/// job's resources.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmJob {
    pub worker: WorkerCommand,
    /// Folder for each array task's output (`slurm-JOB_TASK.out`).
    pub logs: PathBuf,
    pub array: usize,
    pub partition: Option<String>,
    pub gpus_per_task: u32,
    pub cpus_per_task: u32,
    pub time: Option<String>,
}

/// `#SBATCH` lines are parsed by sbatch, not a shell: values there must be
/// plain (no whitespace, quotes or `#`).
fn directive_value(what: &'static str, v: &str) -> Result<String, RunnerError> {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '#' | '\\' | '`' | '$'))
    {
        return Err(RunnerError::Directive {
            what,
            value: v.to_string(),
        });
    }
    Ok(v.to_string())
}

/// The batch script. Each array task runs one worker on its own CPUs (and
/// GPU, with `gpus_per_task`), exec'd so that Slurm's SIGTERM (scancel, the
/// time limit) reaches it and its run goes back to pending.
pub fn sbatch_script(job: &SlurmJob) -> Result<String, RunnerError> {
    if job.array == 0 {
        return Err(RunnerError::EmptyArray);
    }
    let w = &job.worker;
    let log = job.logs.join("slurm-%A_%a.out");
    let mut s = String::from("#!/bin/bash\n");
    s += &format!(
        "#SBATCH --job-name=headsweep-{}\n",
        directive_value("sweep name", &w.sweep)?
    );
    s += &format!("#SBATCH --array=0-{}\n", job.array - 1);
    s += &format!(
        "#SBATCH --output={}\n",
        directive_value("results folder", &log.display().to_string())?
    );
    s += &format!("#SBATCH --cpus-per-task={}\n", job.cpus_per_task.max(1));
    s += "#SBATCH --ntasks=1\n";
    if let Some(p) = &job.partition {
        s += &format!("#SBATCH --partition={}\n", directive_value("partition", p)?);
    }
    if job.gpus_per_task > 0 {
        s += &format!("#SBATCH --gpus-per-task={}\n", job.gpus_per_task);
    }
    if let Some(t) = &job.time {
        s += &format!("#SBATCH --time={}\n", directive_value("time", t)?);
    }
    s += "set -euo pipefail\n";
    if w.db_via == DbVia::Env {
        // The store's URL (with any password) is not in this file: sbatch
        // passes it from the submitting environment.
        s += &format!(
            ": \"${{{DB_ENV}:?the store must reach this job in {DB_ENV}: submit with sbatch --export=ALL or set it}}\"\n"
        );
    }
    s += &w.shell_line_without_env();
    s.push('\n');
    Ok(s)
}

/// Submits `script` with `sbatch --parsable --export=ALL`, with `envs` in
/// sbatch's environment (so that the job gets them without their being
/// written into the script or onto a command line); returns the job id.
pub fn submit(script: &Path, envs: &[(&str, String)]) -> Result<String, RunnerError> {
    let out = std::process::Command::new("sbatch")
        .arg("--parsable")
        .arg("--export=ALL")
        .arg(script)
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .map_err(|source| RunnerError::Io {
            context: "running sbatch (is Slurm installed and on PATH?)".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(RunnerError::Sbatch {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(RunnerError::NoJobId(text.to_string()));
    }
    Ok(id)
}

/// Waits until `squeue` no longer lists job `id` (polling every
/// `every`).
pub fn wait_for_job(id: &str, every: std::time::Duration) -> Result<(), RunnerError> {
    loop {
        let out = std::process::Command::new("squeue")
            .args(["-h", "-o", "%i", "-j", id])
            .output()
            .map_err(|source| RunnerError::Io {
                context: "running squeue (is Slurm installed and on PATH?)".into(),
                source,
            })?;
        // squeue fails for a job it has already forgotten: ended.
        if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return Ok(());
        }
        std::thread::sleep(every);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::WorkerSlot;

    fn job() -> SlurmJob {
        SlurmJob {
            worker: WorkerCommand {
                exe: "/opt/my tools/headsweep".into(),
                db: "postgres://u:p'w@db/x".into(),
                db_via: DbVia::Argv,
                sweep: "age_sex".into(),
                device: "cuda:0".into(),
                threads: 4,
                lease_secs: 60,
                results: "/scratch/r".into(),
                slot: WorkerSlot::SlurmArrayTask,
                fuse: 1,
            },
            logs: "/scratch/r/age_sex".into(),
            array: 3,
            partition: Some("gpu".into()),
            gpus_per_task: 1,
            cpus_per_task: 4,
            time: Some("02:00:00".into()),
        }
    }

    #[test]
    fn the_script_quotes_every_name_and_path() {
        let s = sbatch_script(&job()).unwrap();
        assert!(s.contains("#SBATCH --array=0-2\n"));
        assert!(s.contains("#SBATCH --gpus-per-task=1\n#SBATCH --time=02:00:00\n"));
        assert!(s.contains("#SBATCH --output=/scratch/r/age_sex/slurm-%A_%a.out\n"));
        assert!(s.contains("exec '/opt/my tools/headsweep' worker --db 'postgres://u:p'\\''w@db/x' --sweep age_sex --device cuda:0 --threads 4"));
        // The quoted command line parses back to the original words.
        let line = s.lines().last().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "set -- {}; printf '%s\\n' \"$1\" \"$4\"",
                &line[5..]
            ))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "/opt/my tools/headsweep\npostgres://u:p'w@db/x\n"
        );
    }

    #[test]
    fn with_the_store_in_the_environment_the_script_holds_no_url() {
        let mut j = job();
        j.worker.db_via = DbVia::Env;
        let s = sbatch_script(&j).unwrap();
        assert!(!s.contains("postgres"), "{s}");
        assert!(!s.contains("--db"), "{s}");
        assert!(s.contains(": \"${HEADSWEEP_DB:?"), "{s}");
        // Without the variable the job stops before starting a worker.
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(s.replace("exec ", "echo "))
            .env_remove(DB_ENV)
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("HEADSWEEP_DB"));
    }

    #[test]
    fn unsafe_directive_values_are_refused() {
        let mut j = job();
        j.logs = "/scratch/my results".into();
        assert!(sbatch_script(&j)
            .unwrap_err()
            .to_string()
            .contains("cannot go into an #SBATCH line"));
        let mut j = job();
        j.partition = Some("a#b".into());
        assert!(sbatch_script(&j).is_err());
        let mut j = job();
        j.array = 0;
        assert!(sbatch_script(&j).is_err());
    }
}
