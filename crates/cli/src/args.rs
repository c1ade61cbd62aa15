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
