//! Command-line arguments as parsed, before any of them is acted on.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "headsweep", version, about = "Compare multi-task output-head designs over seeds", long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train one run of a sweep file (its first grid point and first seed)
    /// and print per-head metrics.
    Train(TrainArgs),
    /// Generate or inspect data.
    #[command(subcommand)]
    Data(DataCommand),
    /// Show every run a sweep file expands to, validated, and the device
    /// plan, without training.
    Plan(PlanArgs),
    /// Train every pending run of a sweep in parallel into the store.
    Run(RunArgs),
    /// Claim and train runs of a registered sweep until none remain.
    Worker(WorkerArgs),
    /// Runs by status; running runs with host and device; failed runs with
    /// their reasons.
    Status(StatusArgs),
    /// Forget runs, or mark them to train again.
    Rm(RmArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// The store: an SQLite file path, or a sqlite:/postgres:// URL.
    #[arg(
        long,
        env = "HEADSWEEP_DB",
        default_value = "results/headsweep.db",
        global = true
    )]
    pub db: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArgs {
    /// Worker processes; default: one per `--threads-per-run` cores on CPU,
    /// 4 per GPU.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// auto (every GPU, else the CPU), cpu, or cuda:0,1,…
    #[arg(long, default_value = "auto")]
    pub devices: String,
    /// libtorch intra-op threads per run; results are bit-identical for the
    /// same value.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads_per_run: u32,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub devices: DeviceArgs,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub devices: DeviceArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Train the failed runs again too.
    #[arg(long)]
    pub retry_failed: bool,
    /// Seconds a claimed run stays a worker's without a heartbeat.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..))]
    pub lease: u64,
    /// Folder for weights and logs; default: the SQLite file's folder, else
    /// results/.
    #[arg(long)]
    pub results: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[arg(long)]
    pub sweep: String,
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..))]
    pub lease: u64,
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// This worker's number among its launch's workers (for its name).
    #[arg(long, default_value_t = 0)]
    pub slot: u32,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// A sweep name; every sweep when absent.
    pub sweep: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Sweep names, run identities, or unique identity prefixes (≥ 8 hex digits).
    #[arg(required = true)]
    pub targets: Vec<String>,
    /// Only the failed runs of the named sweeps.
    #[arg(long)]
    pub failed: bool,
    /// Mark the runs to train again instead of forgetting them.
    #[arg(long)]
    pub rerun: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The sweep file (TOML).
    pub file: PathBuf,
    /// cpu, cuda, cuda:N, or auto (the first GPU if there is one).
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// libtorch intra-op threads for the run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// Save the best epoch's weights here (safetensors).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Splits to report.
    #[arg(long, value_enum, default_value_t = SplitChoice::Test)]
    pub split: SplitChoice,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SplitChoice {
    Train,
    Val,
    Test,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Write a synthetic data set: features.tsv.gz, samples.tsv, truth.tsv.
    Synth(SynthArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PresetArg {
    Methylation,
    Genotypes,
}

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    #[arg(long, value_enum)]
    pub preset: PresetArg,
    #[arg(long, value_parser = clap::value_parser!(u32).range(60..))]
    pub samples: u32,
    #[arg(long, value_parser = clap::value_parser!(u32).range(20..))]
    pub features: u32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output folder (created if absent).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
