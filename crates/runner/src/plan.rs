//! Which workers to start, on which devices.

use crate::RunnerError;

/// One worker process: its device and libtorch threads per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub device: String,
    pub threads: usize,
}

/// Runs per GPU when `--jobs` is not given: small networks leave a GPU
/// mostly idle, so several share one.
pub const RUNS_PER_GPU: usize = 4;

/// Plans workers. `devices` is `auto`, `cpu`, or a comma list of `cuda:N`.
/// `auto` means every CUDA device when there is one, else the CPU. Without
/// `jobs`: on CPU one worker per `threads` cores (at least one), on GPUs
/// [`RUNS_PER_GPU`] per device. Workers take devices in turn.
pub fn plan_workers(
    devices: &str,
    jobs: Option<usize>,
    threads: usize,
    cuda_count: usize,
    cores: usize,
) -> Result<Vec<Slot>, RunnerError> {
    let threads = threads.max(1);
    let list: Vec<String> = match devices {
        "auto" if cuda_count > 0 => (0..cuda_count).map(|i| format!("cuda:{i}")).collect(),
        "auto" | "cpu" => vec!["cpu".to_string()],
        list => list
            .split(',')
            .map(|d| {
                let d = d.trim();
                let i = d
                    .strip_prefix("cuda:")
                    .and_then(|n| n.parse::<usize>().ok())
                    .ok_or_else(|| RunnerError::UnknownDevice(d.to_string()))?;
                if i >= cuda_count {
                    return Err(RunnerError::Unavailable {
                        device: d.to_string(),
                        available: cuda_count,
                    });
                }
                Ok(d.to_string())
            })
            .collect::<Result<_, _>>()?,
    };
    let gpu = list[0] != "cpu";
    let n = jobs.unwrap_or(if gpu {
        RUNS_PER_GPU * list.len()
    } else {
        (cores / threads).max(1)
    });
    if n == 0 {
        return Err(RunnerError::NoJobs);
    }
    Ok((0..n)
        .map(|i| Slot {
            device: list[i % list.len()].clone(),
            threads,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_gets_one_worker_per_threads_cores() {
        let s = plan_workers("auto", None, 2, 0, 8).unwrap();
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|s| s.device == "cpu" && s.threads == 2));
        assert_eq!(plan_workers("cpu", None, 4, 2, 2).unwrap().len(), 1);
        assert_eq!(plan_workers("cpu", Some(3), 1, 0, 2).unwrap().len(), 3);
    }

    #[test]
    fn gpus_share_workers_in_turn() {
        let s = plan_workers("auto", None, 1, 2, 16).unwrap();
        assert_eq!(s.len(), 8);
        assert_eq!(s[0].device, "cuda:0");
        assert_eq!(s[1].device, "cuda:1");
        let s = plan_workers("cuda:1", Some(2), 1, 2, 16).unwrap();
        assert!(s.iter().all(|s| s.device == "cuda:1"));
    }

    #[test]
    fn unknown_or_absent_devices_are_refused() {
        assert!(plan_workers("cuda:0", None, 1, 0, 2)
            .unwrap_err()
            .to_string()
            .contains("0 CUDA device(s)"));
        assert!(plan_workers("tpu", None, 1, 0, 2)
            .unwrap_err()
            .to_string()
            .contains("unknown device"));
        assert!(plan_workers("cpu", Some(0), 1, 0, 2).is_err());
    }
}
