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
    /// A comparison table over seeds: mean ± std, n, 95% CI, best marked,
    /// paired tests against a baseline.
    Compare(CompareArgs),
    /// One line per run with its axis values, status and metrics.
    Runs(RunsArgs),
    /// One page to read or share: methods, the comparison, charts per
    /// metric, per-class counts of the baseline and the best row, learning
    /// curves, calibration and provenance, as self-contained HTML or Markdown.
    Report(ReportArgs),
    /// A local, read-only web view of the store: sweeps, live progress,
    /// comparisons, charts and runs.
    Serve(ServeArgs),
    /// Per class of one head: TP, FP, FN, TN, precision, recall and how
    /// often it is predicted, summed over the runs of a design.
    Classes(ClassesArgs),
    /// Read-only SQL over the store's tables and views (docs/store.md).
    Query(QueryArgs),
    /// Everything needed to recompute any metric outside headsweep.
    Export(ExportArgs),
    /// Charts as SVG: a metric across settings, learning curves, a confusion matrix.
    #[command(subcommand)]
    Plot(PlotCommand),
    /// Rank input features by attribution for one head of a run, over its
    /// test set, from the run's saved best weights.
    Explain(ExplainArgs),
    /// Submit a sweep to Slurm as a job array of workers sharing the store.
    Slurm(SlurmArgs),
    /// What libtorch sees, as one JSON line (`headsweep` asks
    /// `headsweep-train` this before planning on GPUs).
    #[command(hide = true)]
    Devices,
}

#[derive(Debug, clap::Args)]
pub struct SlurmArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Array tasks (workers); default one per run left, at most this many.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub array: Option<u32>,
    #[arg(long)]
    pub partition: Option<String>,
    /// GPUs per task (each worker then trains on cuda:0 of its own GPUs).
    #[arg(long, default_value_t = 0)]
    pub gpus_per_task: u32,
    /// CPUs per task; also the libtorch threads per run.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub cpus_per_task: u32,
    /// Slurm time limit, e.g. 02:00:00.
    #[arg(long)]
    pub time: Option<String>,
    #[arg(long)]
    pub retry_failed: bool,
    /// Print the batch script; register and submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait for the job to end, then submit again what is left — for a
    /// search, the rounds its results propose — until nothing is left.
    #[arg(long, conflicts_with = "dry_run")]
    pub follow: bool,
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(2..))]
    pub lease: u64,
    /// Runs each array task trains together as one batched model: `auto`,
    /// `off`, or at most K (as for `run`).
    #[arg(long, default_value = "auto")]
    pub fuse: headsweep_runner::Fuse,
    /// Folder for logs, weights and the batch script, on storage every node
    /// sees; default the SQLite file's folder, else results/.
    #[arg(long)]
    pub results: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Integrated gradients.
    Ig,
    Saliency,
    GradInput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReferenceArg {
    /// Raw zeros, transformed like the inputs.
    Zero,
    /// The training means (zero after standardisation).
    Mean,
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// A run identity or a unique prefix (≥ 8 hex digits).
    pub run: String,
    /// The head to explain; default the first.
    #[arg(long)]
    pub head: Option<String>,
    /// The class whose logit is attributed: a class name or index, or
    /// `true` for each sample's true class.
    #[arg(long, default_value = "true")]
    pub class: String,
    #[arg(long, value_enum, default_value_t = MethodArg::Ig)]
    pub method: MethodArg,
    /// Integrated-gradients steps (right Riemann sum).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub steps: u32,
    #[arg(long, value_enum, default_value_t = ReferenceArg::Mean)]
    pub reference: ReferenceArg,
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub top: u32,
    /// Known features to score the ranking against (one per line, or
    /// feature,head): hits in the top K, as for the generator's truth.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = TableFormatArg::Table)]
    pub format: TableFormatArg,
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Folder holding runs/RUN/best.safetensors; default the store's folder.
    #[arg(long)]
    pub results: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Md,
    Csv,
    Json,
    Latex,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AdjustArg {
    None,
    /// Holm within each column.
    Holm,
    /// Holm over every test in the table (one family of claims).
    HolmAll,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolArg {
    /// Per seed, average over the settings of the axes not shown (n = seeds).
    Seed,
    /// Each run is an observation (n = runs; not independent within a seed).
    Run,
}

/// What makes a comparison table: shared by `compare` and `report`.
#[derive(Debug, clap::Args)]
pub struct ComparisonArgs {
    /// Axes that make the rows, comma-separated; default every axis that varies.
    #[arg(long, value_delimiter = ',')]
    pub rows: Option<Vec<String>>,
    /// HEAD.METRIC columns, comma-separated (joint.exact_match for all
    /// heads). METRIC: n, accuracy, balanced_accuracy, macro_precision,
    /// macro_recall, macro_f1, weighted_f1, log_loss, brier, ece, auroc,
    /// mass, mae, off_by_one, rmse, loss, exact_match.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    #[arg(long, default_value = "test", value_parser = ["train", "val", "test"])]
    pub split: String,
    /// The baseline row: AXIS=VALUE pairs, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub baseline: Option<Vec<String>>,
    /// SPLIT.HEAD.METRIC: per row, first pick the best setting of the hidden axes by this.
    #[arg(long)]
    pub select_by: Option<String>,
    #[arg(long, value_enum, default_value_t = AdjustArg::None)]
    pub adjust: AdjustArg,
    /// The unit of replication when axes not shown vary.
    #[arg(long, value_enum, default_value_t = PoolArg::Seed)]
    pub pool: PoolArg,
    /// With --baseline: test equivalence of each row within ±MARGIN (in the
    /// metric's units) by two one-sided t-tests.
    #[arg(long)]
    pub margin: Option<f64>,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    pub sweep: String,
    #[command(flatten)]
    pub table: ComparisonArgs,
    #[arg(long, value_enum, default_value_t = CompareFormat::Md)]
    pub format: CompareFormat,
    /// With --format html: the table alone instead of a complete page.
    #[arg(long)]
    pub fragment: bool,
    /// With --format latex: every column (n, interval, Δ, both p) instead
    /// of mean ± std and one p per metric.
    #[arg(long)]
    pub intervals: bool,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    pub sweep: String,
    #[command(flatten)]
    pub table: ComparisonArgs,
    /// html: one self-contained file; md: Markdown with its charts in
    /// FILE_files/ beside it.
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Default: the store's folder, SWEEP-report.html (or .md).
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormatArg {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The port; 0 picks a free one (printed when listening).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// The address to listen on; the default keeps the view on this machine.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Folder holding the store's run folders (for training logs); default
    /// the store's folder.
    #[arg(long)]
    pub results: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct ClassesArgs {
    pub sweep: String,
    /// The head (task) whose classes to count.
    #[arg(long)]
    pub head: String,
    /// The design's runs, e.g. "model.architecture = 'multi_head' AND train.loss = 'ce'";
    /// every done run of the sweep when absent.
    #[arg(long = "where")]
    pub filter: Option<String>,
    #[arg(long, default_value = "test", value_parser = ["train", "val", "test"])]
    pub split: String,
    #[arg(long, value_enum, default_value_t = TableFormatArg::Table)]
    pub format: TableFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    /// A sweep; every sweep when absent.
    pub sweep: Option<String>,
    /// e.g. "model.head_depth >= 1 AND (age.accuracy > 0.3 OR val.sex.ece < 0.05)"
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// [SPLIT.]HEAD.METRIC columns, comma-separated; default test accuracy per head and joint exact match.
    #[arg(long, value_delimiter = ',')]
    pub metrics: Option<Vec<String>>,
    #[arg(long, value_enum, default_value_t = TableFormatArg::Table)]
    pub format: TableFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    pub sql: String,
    #[arg(long, value_enum, default_value_t = TableFormatArg::Table)]
    pub format: TableFormatArg,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportWhat {
    Runs,
    Metrics,
    Classes,
    Confusion,
    Curves,
    Predictions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    pub sweep: String,
    #[arg(long, value_enum)]
    pub what: ExportWhat,
    #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
    pub format: ExportFormat,
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErrorBarArg {
    Std,
    Ci,
}

#[derive(Debug, Subcommand)]
pub enum PlotCommand {
    /// Means with error bars across seeds, per value of an axis.
    Metric(PlotMetricArgs),
    /// Learning curves per head of one run.
    Curves(PlotCurvesArgs),
    /// A confusion-matrix heat map of one head of one run.
    Confusion(PlotConfusionArgs),
    /// A reliability diagram of one head's test predictions: one run, or a
    /// sweep's runs pooled per value of an axis (sigmoid vs softmax heads).
    Calibration(PlotCalibrationArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlotCalibrationArgs {
    /// A sweep name, or a run identity or unique prefix.
    pub target: String,
    #[arg(long)]
    pub head: String,
    /// With a sweep: one line per value of this axis; default train.loss
    /// when it varies, else the first axis that varies.
    #[arg(long)]
    pub hue: Option<String>,
    /// With a sweep: only the runs this filter keeps.
    #[arg(long = "where")]
    pub filter: Option<String>,
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct PlotMetricArgs {
    pub sweep: String,
    /// [SPLIT.]HEAD.METRIC (test split by default).
    #[arg(long)]
    pub metric: String,
    /// The axis along x; default the first that varies.
    #[arg(long)]
    pub x: Option<String>,
    /// The axis that colours the points; default the second that varies.
    #[arg(long)]
    pub hue: Option<String>,
    #[arg(long, value_enum, default_value_t = ErrorBarArg::Std)]
    pub error: ErrorBarArg,
    /// FILE.svg or FILE.png; default results/plots/SWEEP-METRIC.svg.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct PlotCurvesArgs {
    /// A run identity or a unique prefix (≥ 8 hex digits).
    pub run: String,
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Args)]
pub struct PlotConfusionArgs {
    pub run: String,
    #[arg(long)]
    pub head: String,
    #[arg(long, default_value = "test", value_parser = ["train", "val", "test"])]
    pub split: String,
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
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
    /// 8 per GPU (no more than there are cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// auto (the GPUs, workers shared by free memory, a nearly full one
    /// left out; else the CPU), cpu, or cuda:0,1,… (shared equally)
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
    /// With a store that exists: per grid point what is done, failed,
    /// running and left, and an estimate of the time left.
    #[command(flatten)]
    pub store: StoreArgs,
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
    /// Train compatible runs (same shapes, data and schedule) together as
    /// one batched model: `auto` (groups spread over the workers), `off`,
    /// or at most K runs per group. Results are the same bit for bit.
    #[arg(long, default_value = "auto")]
    pub fuse: headsweep_runner::Fuse,
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
    /// Most runs to train together as one fused model.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub fuse: u64,
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
    /// What a feature file (and a sample sheet) hold: format, samples ×
    /// features, orientation, missing values, id matches and label classes.
    Inspect(InspectArgs),
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The feature matrix (CSV/TSV(.gz), .npy, GEO series matrix, PLINK
    /// .bed, AnnData .h5ad).
    pub features: PathBuf,
    /// A sample sheet to match against the matrix.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// The sheet's id column; default its first.
    #[arg(long)]
    pub id_column: Option<String>,
    /// For an .npy matrix: its sample ids, one per line.
    #[arg(long)]
    pub ids: Option<PathBuf>,
    /// For an .npy matrix: its feature names, one per line.
    #[arg(long)]
    pub feature_names: Option<PathBuf>,
    /// For an AnnData file: the layer to read instead of X.
    #[arg(long)]
    pub layer: Option<String>,
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
    /// Scales the sex signal (1 as drawn, 0 for none), as data.synthetic.sex_effect.
    #[arg(long, default_value_t = headsweep_spec::DEFAULT_SEX_EFFECT)]
    pub sex_effect: f64,
    /// A,B: Beta shape of the ages, as data.synthetic.age_shape.
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = headsweep_spec::DEFAULT_AGE_SHAPE)]
    pub age_shape: Vec<f64>,
    /// Output folder (created if absent).
    #[arg(long)]
    pub out: PathBuf,
    /// tsv: features.tsv.gz + samples.tsv; npy: features.npy + ids.txt +
    /// feature_names.txt + samples.tsv; h5ad: features.h5ad, labels in obs.
    #[arg(long, value_enum, default_value = "tsv")]
    pub format: SynthFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SynthFormat {
    Tsv,
    Npy,
    H5ad,
}

pub fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        // Plain text where stderr is a file (a worker's log).
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use clap::Parser;
    use headsweep_runner::{DbVia, WorkerCommand, WorkerSlot, DB_ENV};

    use super::{Cli, Command};

    fn worker(db_via: DbVia) -> WorkerCommand {
        WorkerCommand {
            exe: "/bin/headsweep".into(),
            db: "postgres://u:p@h/db".into(),
            db_via,
            sweep: "age sex".into(),
            device: "cuda:1".into(),
            threads: 3,
            lease_secs: 45,
            results: "/shared/results".into(),
            slot: WorkerSlot::Fixed(7),
            fuse: 6,
        }
    }

    /// What `run` and `slurm` write, read back by the parser `worker` uses.
    #[test]
    fn the_worker_command_line_parses_back_to_what_was_built() {
        for via in [DbVia::Argv, DbVia::Env] {
            let w = worker(via);
            let mut argv: Vec<OsString> = vec!["headsweep".into()];
            argv.extend(w.args());
            let parsed = Cli::try_parse_from(argv).expect("the parser accepts the worker's line");
            let Command::Worker(a) = parsed.command else {
                panic!("not a worker command");
            };
            assert_eq!(a.sweep, w.sweep);
            assert_eq!(a.device, w.device);
            assert_eq!(a.threads, w.threads);
            assert_eq!(a.lease, w.lease_secs);
            assert_eq!(a.results.as_deref(), Some(w.results.as_path()));
            assert_eq!(a.slot, 7);
            assert_eq!(a.fuse, 6);
            assert_eq!(parsed.verbose, 1);
            match via {
                DbVia::Argv => assert_eq!(a.store.db, w.db),
                // Without the variable set here the parser falls back to
                // its default: the store is not on the command line.
                DbVia::Env => {
                    assert_eq!(w.envs(), [(DB_ENV, w.db.clone())]);
                    if std::env::var_os(DB_ENV).is_none() {
                        assert_eq!(a.store.db, "results/headsweep.db");
                    }
                }
            }
        }
    }
}
