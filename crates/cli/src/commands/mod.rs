mod classes;
mod compare;
mod export;
mod plan;
mod plot;
mod pruned;
mod query;
pub mod report;
mod report_page;
mod rm;
mod run;
pub mod runs;
mod seeds;
mod serve;
mod slurm;
mod status;
mod synth;

use std::path::{Path, PathBuf};

use anyhow::Context;
use headsweep_runner::{plan_workers, runs_of, PlannedRun, Slot};
use headsweep_spec::SweepFile;

use crate::args::{Command, DataCommand, DeviceArgs};
use crate::exit;

pub fn run(command: Command, torch: &dyn crate::Torch) -> anyhow::Result<i32> {
    let ok = |r: anyhow::Result<()>| r.map(|()| exit::SUCCESS);
    match command {
        c @ (Command::Train(_) | Command::Explain(_) | Command::Worker(_) | Command::Devices) => {
            torch.run(c)
        }
        Command::Data(DataCommand::Synth(a)) => ok(synth::run(a)),
        Command::Data(DataCommand::Inspect(a)) => ok(inspect(&a)),
        Command::Plan(a) => ok(plan::run(a, torch)),
        Command::Run(a) => run::run(a, torch),
        Command::Status(a) => ok(status::run(a)),
        Command::Rm(a) => ok(rm::run(a)),
        Command::Compare(a) => ok(compare::run(a)),
        Command::Runs(a) => ok(runs::run(a)),
        Command::Classes(a) => ok(classes::run(a)),
        Command::Report(a) => ok(report_page::run(a)),
        Command::Serve(a) => ok(serve::run(a)),
        Command::Query(a) => ok(query::run(a)),
        Command::Export(a) => ok(export::run(a)),
        Command::Plot(a) => ok(plot::run(a)),
        Command::Slurm(a) => ok(slurm::run(a)),
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// A sweep file, loaded and checked as far as possible without training:
/// the schema, every grid value, the data files' headers, and every
/// distinct data set loaded once (catching, say, a class without training
/// samples) — then its runs with their identities.
fn prepare(file: &Path) -> anyhow::Result<(SweepFile, Vec<PlannedRun>, Vec<String>, Prepared)> {
    let sweep = SweepFile::load(file)?;
    // Before any data are generated or networks built.
    headsweep_runner::check_memory(&sweep)
        .with_context(|| format!("checking what {} needs", file.display()))?;
    let mut seen = std::collections::HashSet::new();
    let mut summaries = Vec::new();
    let mut prepared = Prepared(Vec::new());
    for p in &sweep.points {
        let key = serde_json::to_string(&(&p.config.data, &p.config.tasks))?;
        if seen.insert(key) {
            let what = || {
                format!(
                    "checking the data of {} (grid point {})",
                    file.display(),
                    p.label()
                )
            };
            headsweep_data::check_headers(&p.config.data, &p.config.tasks).with_context(what)?;
            let data = headsweep_data::load(&p.config.data, &p.config.tasks).with_context(what)?;
            summaries.push((p.label(), data.summary()));
            if headsweep_data::cacheable(&p.config.data) {
                prepared
                    .0
                    .push((p.config.data.clone(), p.config.tasks.clone(), data));
            }
        }
    }
    let runs = runs_of(&sweep)?;
    // One data set for the whole sweep (the usual case) needs no label.
    let summaries = if summaries.len() == 1 {
        summaries
            .into_iter()
            .map(|(_, s)| format!("data: {s}"))
            .collect()
    } else {
        summaries
            .into_iter()
            .map(|(l, s)| format!("data of {l} (and the points that share it): {s}"))
            .collect()
    };
    Ok((sweep, runs, summaries, prepared))
}

/// Data sets loaded while preparing that workers can map rather than load
/// again (selected ones: see `headsweep_data::cacheable`).
struct Prepared(
    Vec<(
        headsweep_spec::DataConfig,
        Vec<headsweep_spec::TaskConfig>,
        headsweep_data::Dataset,
    )>,
);

impl Prepared {
    /// Writes them where the store's workers look.
    fn keep(self, files: &headsweep_store::StoreFiles) -> anyhow::Result<()> {
        for (data, tasks, set) in self.0 {
            headsweep_data::keep_cached(&files.data_cache(), &data, &tasks, &set)
                .context("writing the prepared data set beside the store")?;
        }
        Ok(())
    }
}

fn slots(d: &DeviceArgs, torch: &dyn crate::Torch) -> anyhow::Result<Vec<Slot>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Only a plan that may name a GPU asks libtorch, and only `auto` asks
    // the driver for free memory.
    let count = if d.devices == "cpu" {
        0
    } else {
        torch.cuda_devices()?
    };
    let gpus = if d.devices == "auto" {
        headsweep_runner::gpu_memory(count)
    } else {
        vec![headsweep_runner::Gpu::UNKNOWN; count]
    };
    let slots = plan_workers(
        &d.devices,
        d.jobs.map(|j| j as usize),
        d.threads_per_run as usize,
        &gpus,
        cores,
    )?;
    // Empty unless the driver reported memory, which only `auto` asks.
    let busy = headsweep_runner::busy_gpus(&gpus);
    if !busy.is_empty() {
        let names: Vec<String> = busy
            .iter()
            .map(|&i| {
                let mib = gpus[i].free_mib.unwrap_or(0);
                format!("cuda:{i} ({:.1} GiB free)", mib as f64 / 1024.0)
            })
            .collect();
        eprintln!(
            "--devices auto leaves out {}: under {:.0}% of the freest device's free memory; name devices with --devices to use them",
            names.join(", "),
            100.0 * headsweep_runner::BUSY_SHARE
        );
    }
    Ok(slots)
}

/// What `headsweep-train devices` prints: what libtorch sees, as one JSON
/// line, read back by [`parse_devices`].
pub fn devices_line(cuda: usize) -> String {
    serde_json::json!({ "cuda_devices": cuda }).to_string()
}

/// The CUDA device count in a [`devices_line`].
pub fn parse_devices(line: &str) -> anyhow::Result<usize> {
    let v: serde_json::Value = serde_json::from_str(line.trim())?;
    v["cuda_devices"]
        .as_u64()
        .map(|n| n as usize)
        .context("no cuda_devices count")
}

/// Where weights and logs go: `--results`, else the SQLite file's folder,
/// else `results/`.
pub fn results_dir(db: &str, explicit: Option<&PathBuf>) -> PathBuf {
    if let Some(p) = explicit {
        return p.clone();
    }
    match headsweep_store::sqlite_path(db) {
        None => PathBuf::from("results"),
        Some(path) => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    }
}

fn describe_slots(slots: &[Slot]) -> String {
    let mut by_device: Vec<(String, usize)> = Vec::new();
    for s in slots {
        match by_device.iter_mut().find(|(d, _)| *d == s.device) {
            Some((_, n)) => *n += 1,
            None => by_device.push((s.device.clone(), 1)),
        }
    }
    let threads = slots.first().map_or(1, |s| s.threads);
    let parts: Vec<String> = by_device
        .iter()
        .map(|(d, n)| format!("{n} on {d}"))
        .collect();
    format!(
        "{} worker(s): {}; {threads} thread(s) per run",
        slots.len(),
        parts.join(", ")
    )
}

/// `data inspect`: the report of what the files hold.
fn inspect(a: &crate::args::InspectArgs) -> anyhow::Result<()> {
    let r = headsweep_data::inspect(
        &a.features,
        &headsweep_data::ReadOptions {
            ids: a.ids.as_deref(),
            feature_names: a.feature_names.as_deref(),
            layer: a.layer.as_deref(),
            ..Default::default()
        },
        a.labels.as_deref(),
        a.id_column.as_deref(),
    )?;
    print!("{}: {r}", a.features.display());
    Ok(())
}
