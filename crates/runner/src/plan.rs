//! Which workers to start, on which devices.

use crate::{Gpu, RunnerError};

/// One worker process: its device and libtorch threads per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub device: String,
    pub threads: usize,
}

/// Workers per GPU when `--jobs` is not given, each on a core of its own
/// (fewer where the machine has fewer cores). A fused group of small
/// networks keeps a GPU waiting for kernel launches from its one CPU
/// thread, so several workers share a GPU: on an H200 with 16 cores, B1
/// with 32 seeds took 11.6 s with 4 workers, 9.2 with 6 and 9.1 with 8
/// (docs/performance.md).
pub const RUNS_PER_GPU: usize = 8;

/// A device with less free memory than this share of the freest device's
/// gets no worker under `--devices auto`: someone else is using it.
pub const BUSY_SHARE: f64 = 0.25;

/// The devices `auto` leaves out: less free memory than [`BUSY_SHARE`] of
/// the freest one's (none where memory is unknown).
pub fn busy_gpus(gpus: &[Gpu]) -> Vec<usize> {
    let most = gpus.iter().filter_map(|g| g.free_mib).max().unwrap_or(0);
    gpus.iter()
        .enumerate()
        .filter(|(_, g)| {
            g.free_mib
                .is_some_and(|f| (f as f64) < BUSY_SHARE * most as f64)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Plans workers. `devices` is `auto`, `cpu`, or a comma list of `cuda:N`;
/// `gpus` are the CUDA devices there are, with their free memory where
/// known. `auto` means the GPUs when there are any, else the CPU: every GPU
/// but the busy ones ([`busy_gpus`]), workers shared in proportion to free
/// memory (equally where it is unknown) and interleaved, so that fewer runs
/// than workers still spread over the devices. Without `jobs`: on CPU one
/// worker per `threads` cores (at least one), on GPUs [`RUNS_PER_GPU`] per
/// device used but no more than there are cores (at least one per device).
/// A listed device gets an equal share, in turn.
pub fn plan_workers(
    devices: &str,
    jobs: Option<usize>,
    threads: usize,
    gpus: &[Gpu],
    cores: usize,
) -> Result<Vec<Slot>, RunnerError> {
    let threads = threads.max(1);
    let cuda_count = gpus.len();
    // Each device used and its weight.
    let list: Vec<(String, f64)> = match devices {
        "auto" if cuda_count > 0 => {
            let busy = busy_gpus(gpus);
            gpus.iter()
                .enumerate()
                .filter(|(i, _)| !busy.contains(i))
                .map(|(i, g)| {
                    (
                        format!("cuda:{i}"),
                        g.free_mib.map_or(1.0, |f| f.max(1) as f64),
                    )
                })
                .collect()
        }
        "auto" | "cpu" => vec![("cpu".to_string(), 1.0)],
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
                Ok((d.to_string(), 1.0))
            })
            .collect::<Result<_, _>>()?,
    };
    let gpu = list[0].0 != "cpu";
    let n = jobs.unwrap_or(if gpu {
        (RUNS_PER_GPU * list.len()).min(cores).max(list.len())
    } else {
        (cores / threads).max(1)
    });
    if n == 0 {
        return Err(RunnerError::NoJobs);
    }
    // Highest averages (D'Hondt): each worker goes to the device with the
    // most weight per worker it would have; a tie to the device with fewer
    // workers, then to the earlier one.
    let mut given = vec![0usize; list.len()];
    Ok((0..n)
        .map(|_| {
            let mut best = 0;
            for i in 1..list.len() {
                let score = |j: usize| list[j].1 / (given[j] + 1) as f64;
                if score(i) > score(best) || (score(i) == score(best) && given[i] < given[best]) {
                    best = i;
                }
            }
            given[best] += 1;
            Slot {
                device: list[best].0.clone(),
                threads,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_gets_one_worker_per_threads_cores() {
        let s = plan_workers("auto", None, 2, &[], 8).unwrap();
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|s| s.device == "cpu" && s.threads == 2));
        assert_eq!(plan_workers("cpu", None, 4, &gpus(2), 2).unwrap().len(), 1);
        assert_eq!(plan_workers("cpu", Some(3), 1, &[], 2).unwrap().len(), 3);
    }

    #[test]
    fn gpus_share_workers_in_turn() {
        let s = plan_workers("auto", None, 1, &gpus(2), 64).unwrap();
        assert_eq!(s.len(), 2 * RUNS_PER_GPU);
        assert_eq!(s[0].device, "cuda:0");
        assert_eq!(s[1].device, "cuda:1");
        // A worker launches kernels from a core of its own: no more
        // workers than cores, but one per GPU at least.
        assert_eq!(plan_workers("auto", None, 1, &gpus(2), 6).unwrap().len(), 6);
        let s = plan_workers("auto", None, 1, &gpus(3), 2).unwrap();
        assert_eq!(devices(&s), ["cuda:0", "cuda:1", "cuda:2"]);
        let s = plan_workers("cuda:1", Some(2), 1, &gpus(2), 16).unwrap();
        assert!(s.iter().all(|s| s.device == "cuda:1"));
    }

    #[test]
    fn unknown_or_absent_devices_are_refused() {
        assert!(plan_workers("cuda:0", None, 1, &[], 2)
            .unwrap_err()
            .to_string()
            .contains("0 CUDA device(s)"));
        assert!(plan_workers("tpu", None, 1, &[], 2)
            .unwrap_err()
            .to_string()
            .contains("unknown device"));
        assert!(plan_workers("cpu", Some(0), 1, &[], 2).is_err());
    }

    /// GPUs whose memory the driver did not report.
    fn gpus(n: usize) -> Vec<Gpu> {
        vec![Gpu::UNKNOWN; n]
    }

    fn with_free(free: &[u64]) -> Vec<Gpu> {
        free.iter().map(|&f| Gpu { free_mib: Some(f) }).collect()
    }

    fn devices(s: &[Slot]) -> Vec<&str> {
        s.iter().map(|s| s.device.as_str()).collect()
    }

    #[test]
    fn auto_shares_workers_by_free_memory_and_skips_busy_gpus() {
        // cuda:1 is nearly full (someone else's job): no worker there.
        let g = with_free(&[80_000, 1_200, 40_000]);
        assert_eq!(busy_gpus(&g), [1]);
        let s = plan_workers("auto", None, 1, &g, 12).unwrap();
        assert_eq!(s.len(), 12);
        let on = |d: &str| s.iter().filter(|s| s.device == d).count();
        assert_eq!((on("cuda:0"), on("cuda:1"), on("cuda:2")), (8, 0, 4));
        // Interleaved: the first workers already use both devices.
        assert_eq!(devices(&s[..3]), ["cuda:0", "cuda:2", "cuda:0"]);
        // Equal memory: equal shares in turn.
        let s = plan_workers("auto", Some(4), 1, &with_free(&[500, 500]), 16).unwrap();
        assert_eq!(devices(&s), ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]);
        // Unknown memory: every device alike.
        let s = plan_workers("auto", Some(3), 1, &gpus(3), 16).unwrap();
        assert_eq!(devices(&s), ["cuda:0", "cuda:1", "cuda:2"]);
        // A listed device is used whatever its memory.
        let s = plan_workers("cuda:1", Some(2), 1, &g, 16).unwrap();
        assert_eq!(devices(&s), ["cuda:1", "cuda:1"]);
    }
}
