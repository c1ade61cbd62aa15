//! The typed schema of a sweep file. Every table rejects unknown keys, so a
//! misspelt setting is an error rather than a silently ignored line.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Task names that would collide with metric heads or sections.
pub const RESERVED_NAMES: &[&str] = &["joint", "model", "train", "data", "sweep"];

/// The whole file before grid expansion.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Document {
    pub sweep: SweepSection,
    pub data: DataConfig,
    pub tasks: Vec<TaskConfig>,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub train: TrainConfig,
    #[serde(default)]
    pub grid: Option<toml::Table>,
    /// Extra grid points, each a table of dotted settings.
    #[serde(default)]
    pub include: Vec<toml::Table>,
    /// Patterns of dotted settings; a point matching every key of one
    /// pattern (a value, or any of an array of values) is left out.
    #[serde(default)]
    pub exclude: Vec<toml::Table>,
    /// Settings tuned per design instead of compared.
    #[serde(default)]
    pub search: Option<crate::search::SearchSection>,
    #[serde(default)]
    pub evaluate: Option<crate::search::EvaluateSection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSection {
    pub name: String,
    /// Each grid point runs once per seed: the seed fixes initial weights,
    /// batch order and dropout masks.
    /// With rounds, a design gets seeds until it is settled below the best.
    #[serde(default)]
    pub seeds: crate::seeds::Seeds,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Generate data in memory instead of reading files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<SyntheticConfig>,
    /// Feature matrix: CSV/TSV (optionally .gz), first column the sample id,
    /// or a 2-D NumPy .npy with `ids`. Relative to the sweep file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<PathBuf>,
    /// One sample id per line, in the row order of an .npy matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ids: Option<PathBuf>,
    /// One feature name per line, in the column order of an .npy matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_names: Option<PathBuf>,
    /// An AnnData layer (`layers/NAME`) to read instead of X.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Sample sheet: CSV/TSV with an id column and label columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// The sample sheet's id column; its first column when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_column: Option<String>,
    /// Fixes the generated data and the split.
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub split: Split,
    /// k-fold cross-validation instead of a train/val/test split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<u32>,
    /// How a CSV/TSV matrix is laid out: a row per sample (the default), or
    /// a column per sample, as GEO and most array pipelines write them.
    #[serde(default, skip_serializing_if = "is_default")]
    pub orientation: Orientation,
    /// Sample-sheet ids the matrix does not have: an error (the default),
    /// or left out and counted.
    #[serde(default, skip_serializing_if = "is_default")]
    pub unmatched: Unmatched,
    /// Missing cells: imputed with the training mean (the default), an
    /// error, or features missing in more than a fraction of the training
    /// samples dropped first (`{ max_fraction = 0.2 }`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub missing: Missing,
    /// Which features the model sees, chosen on the training split alone:
    /// the `top_variance = K` most variable, or a fixed list from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select: Option<Select>,
}

/// `data.select`: a feature selection fitted on training samples only, so
/// that validation and test never inform it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum Select {
    /// The K features with the largest variance over the training samples
    /// (missing cells ignored; ties to the earlier column), kept in file
    /// order.
    TopVariance(usize),
    /// The features named in a file, one per line (`#` starts a comment).
    Features(PathBuf),
}

impl DataConfig {
    /// Every file the data come from: matrix, sheet, ids, feature names
    /// and a selection's feature list.
    pub fn paths(&self) -> Vec<&std::path::Path> {
        let select = match &self.select {
            Some(Select::Features(p)) => Some(p),
            _ => None,
        };
        [&self.features, &self.labels, &self.ids, &self.feature_names]
            .into_iter()
            .flatten()
            .chain(select)
            .map(PathBuf::as_path)
            .collect()
    }

    /// The same files, to be resolved against a sweep file's folder.
    pub fn paths_mut(&mut self) -> Vec<&mut PathBuf> {
        let select = match &mut self.select {
            Some(Select::Features(p)) => Some(p),
            _ => None,
        };
        [
            &mut self.features,
            &mut self.labels,
            &mut self.ids,
            &mut self.feature_names,
        ]
        .into_iter()
        .flatten()
        .chain(select)
        .collect()
    }
}

/// What to do with missing cells.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Missing {
    /// Impute with the training split's feature mean.
    #[default]
    Impute,
    /// Refuse a matrix with any missing cell.
    Error,
    /// Drop features missing in more than this fraction of the training
    /// samples, then impute the rest.
    Drop { max_fraction: f64 },
}

impl Serialize for Missing {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Missing::Impute => s.serialize_str("impute"),
            Missing::Error => s.serialize_str("error"),
            Missing::Drop { max_fraction } => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("max_fraction", max_fraction)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Missing {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        const EXPECTED: &str = "\"impute\", \"error\", or { max_fraction = F } with F in [0, 1)";
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Missing;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Missing, E> {
                match v {
                    "impute" => Ok(Missing::Impute),
                    "error" => Ok(Missing::Error),
                    other => Err(E::custom(format!("{other:?}: expected {EXPECTED}"))),
                }
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Missing, A::Error> {
                let mut fraction = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "max_fraction" {
                        fraction = Some(map.next_value::<f64>()?);
                    } else {
                        return Err(serde::de::Error::custom(format!(
                            "unknown key {key:?}: expected {EXPECTED}"
                        )));
                    }
                }
                match fraction {
                    Some(f) if (0.0..1.0).contains(&f) => Ok(Missing::Drop { max_fraction: f }),
                    Some(f) => Err(serde::de::Error::custom(format!(
                        "max_fraction = {f}: expected a fraction in [0, 1)"
                    ))),
                    None => Err(serde::de::Error::custom(format!("expected {EXPECTED}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Orientation {
    #[default]
    SamplesByFeatures,
    FeaturesBySamples,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unmatched {
    #[default]
    Error,
    Drop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    pub preset: Preset,
    pub samples: usize,
    pub features: usize,
    /// Scales the male shift of the X- and Y-linked features: 1 as drawn,
    /// smaller for a sex signal that is not saturated, 0 for none.
    #[serde(
        default = "default_sex_effect",
        skip_serializing_if = "is_default_sex_effect"
    )]
    pub sex_effect: f64,
    /// Beta(a, b) shape of the ages beyond the few guaranteed per 5-year
    /// band (ages = 90·Beta): [2, 3.5] is right-skewed with median ≈ 30;
    /// [1, 8] leaves most old bands with only their guaranteed samples.
    #[serde(
        default = "default_age_shape",
        skip_serializing_if = "is_default_age_shape"
    )]
    pub age_shape: [f64; 2],
}

/// The generator's default sex effect (as drawn).
pub const DEFAULT_SEX_EFFECT: f64 = 1.0;
/// The generator's default age shape.
pub const DEFAULT_AGE_SHAPE: [f64; 2] = [2.0, 3.5];

fn default_sex_effect() -> f64 {
    DEFAULT_SEX_EFFECT
}
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_default_sex_effect(v: &f64) -> bool {
    *v == DEFAULT_SEX_EFFECT
}
fn default_age_shape() -> [f64; 2] {
    DEFAULT_AGE_SHAPE
}
fn is_default_age_shape(v: &[f64; 2]) -> bool {
    *v == DEFAULT_AGE_SHAPE
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Methylation,
    Genotypes,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    pub train: f64,
    pub val: f64,
    pub test: f64,
}

impl Default for Split {
    fn default() -> Self {
        Split {
            train: 0.7,
            val: 0.15,
            test: 0.15,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    pub name: String,
    /// The sample-sheet column; the task's name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// n+1 increasing edges give n classes [e_i, e_{i+1}), the last closed.
    /// Without bins the column's distinct values, sorted, are the classes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<Vec<f64>>,
    /// The classes of a task without bins, in their order (for example
    /// `["young", "adult", "old"]`): the task is ordered, and every value in
    /// the column must be one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Vec<String>>,
    /// This task's weight w_t in the summed loss.
    #[serde(default = "one")]
    pub weight: f64,
    /// This task's loss when it differs from `train.loss` (not `bce`, the
    /// flat loss over every output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Loss>,
    /// This task's class weights when they differ from `train.class_weights`:
    /// `"none"`, `"balanced"`, or one positive number per class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_weights: Option<ClassWeights>,
}

impl TaskConfig {
    /// A task on the column of its own name, with every default: weight 1,
    /// no bins, the architecture's loss and no class weights.
    pub fn named(name: &str) -> TaskConfig {
        TaskConfig {
            name: name.to_string(),
            column: None,
            bins: None,
            weight: 1.0,
            loss: None,
            class_weights: None,
            order: None,
        }
    }
}

/// How samples of each class weigh in a task's loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassWeights {
    Named(ClassWeighting),
    /// One weight per class, in class order.
    List(Vec<f64>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeighting {
    /// Every sample weighs 1.
    None,
    /// n / (K · n_c) on the training split (sklearn's "balanced").
    Balanced,
}

/// How the tasks' losses combine (docs/losses.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskWeighting {
    /// Σ_t w_t·L_t with the tasks' fixed weights.
    Fixed,
    /// Kendall et al. 2018: Σ_t e^(−s_t)·L_t + s_t/2, s_t learned.
    Uncertainty,
    /// Liu et al. 2019, dynamic weight average over epoch-mean losses.
    Dwa,
    /// Yu et al. 2020, gradient surgery on the shared parameters.
    Pcgrad,
    /// Chen et al. 2018, learned weights balancing gradient norms on the
    /// last shared layer.
    Gradnorm,
}

impl TaskConfig {
    pub fn column(&self) -> &str {
        self.column.as_deref().unwrap_or(&self.name)
    }
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Architecture {
    /// Shared layers → one Linear over every class of every task.
    MultiLabel,
    /// Shared trunk → one tower per task → its Linear.
    MultiHead,
    /// An independent network per task: the no-sharing baseline.
    Separate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Gelu,
    Tanh,
    Silu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dtype {
    F32,
    F64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    #[serde(default = "default_architecture")]
    pub architecture: Architecture,
    /// Widths of the shared dense layers.
    #[serde(default = "default_trunk")]
    pub trunk: Vec<usize>,
    /// Dense layers in each head before its output layer.
    #[serde(default)]
    pub head_depth: usize,
    #[serde(default = "default_head_width")]
    pub head_width: usize,
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    #[serde(default = "default_activation")]
    pub activation: Activation,
    #[serde(default = "default_dtype")]
    pub dtype: Dtype,
    /// Match capacity: scale every hidden width (trunk and head_width) by
    /// one factor so the network has this many trainable parameters, within
    /// 2%. Resolved when the data's features and classes are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<usize>,
}

fn default_architecture() -> Architecture {
    Architecture::MultiHead
}
fn default_trunk() -> Vec<usize> {
    vec![256, 128]
}
fn default_head_width() -> usize {
    64
}
fn default_dropout() -> f64 {
    0.1
}
fn default_activation() -> Activation {
    Activation::Relu
}
fn default_dtype() -> Dtype {
    Dtype::F32
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            architecture: default_architecture(),
            trunk: default_trunk(),
            head_depth: 0,
            head_width: default_head_width(),
            dropout: default_dropout(),
            activation: default_activation(),
            params: None,
            dtype: default_dtype(),
        }
    }
}

/// Loss definitions: docs/losses.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Sigmoid on every output, the mean BCE over all outputs of all heads.
    Bce,
    /// Per task the mean BCE over its outputs, then Σ_t w_t·L_t.
    BceTask,
    /// Softmax cross-entropy per head (with `train.label_smoothing`), then
    /// Σ_t w_t·L_t.
    Ce,
    /// Softmax focal loss per head, −(1 − p_y)^γ·log p_y with γ =
    /// `train.focal_gamma`, then Σ_t w_t·L_t.
    Focal,
    /// Ordered tasks: CORAL (Cao et al. 2020), K − 1 threshold logits
    /// sharing one weight vector, each with its own bias; targets 1[y > k].
    Coral,
    /// Ordered tasks: CORN (Shi et al. 2023), K − 1 independent threshold
    /// logits, threshold k trained on the samples with y ≥ k only.
    Corn,
    /// Ordered tasks: regression on the standardised value, squared error.
    Mse,
    /// Ordered tasks: regression on the standardised value, Huber loss with
    /// `train.huber_delta`.
    Huber,
}

/// What a task's output layer produces, which fixes its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// One logit per class.
    Classes,
    /// K − 1 threshold logits from one shared weight vector (CORAL).
    SharedThresholds,
    /// K − 1 independent threshold logits (CORN).
    Thresholds,
    /// One number (regression).
    Value,
}

impl Output {
    /// Outputs for a task of `k` classes.
    pub fn width(self, k: usize) -> usize {
        match self {
            Output::Classes => k,
            Output::SharedThresholds | Output::Thresholds => k.saturating_sub(1),
            Output::Value => 1,
        }
    }
}

impl TaskWeighting {
    pub fn name(self) -> &'static str {
        match self {
            TaskWeighting::Fixed => "fixed",
            TaskWeighting::Uncertainty => "uncertainty",
            TaskWeighting::Dwa => "dwa",
            TaskWeighting::Pcgrad => "pcgrad",
            TaskWeighting::Gradnorm => "gradnorm",
        }
    }
}

impl Loss {
    /// Whether the heads' outputs go through a sigmoid (else a softmax).
    pub fn is_sigmoid(self) -> bool {
        matches!(self, Loss::Bce | Loss::BceTask)
    }

    pub fn name(self) -> &'static str {
        match self {
            Loss::Bce => "bce",
            Loss::BceTask => "bce_task",
            Loss::Ce => "ce",
            Loss::Focal => "focal",
            Loss::Coral => "coral",
            Loss::Corn => "corn",
            Loss::Mse => "mse",
            Loss::Huber => "huber",
        }
    }

    /// Whether the loss needs the task's classes to be ordered.
    pub fn is_ordinal(self) -> bool {
        matches!(self, Loss::Coral | Loss::Corn | Loss::Mse | Loss::Huber)
    }

    pub fn output(self) -> Output {
        match self {
            Loss::Bce | Loss::BceTask | Loss::Ce | Loss::Focal => Output::Classes,
            Loss::Coral => Output::SharedThresholds,
            Loss::Corn => Output::Thresholds,
            Loss::Mse | Loss::Huber => Output::Value,
        }
    }
}

impl TrainConfig {
    /// The loss of task `task`: its own, else `train.loss` (`bce_task` per
    /// task under the flat `bce`).
    pub fn task_loss(&self, task: &TaskConfig) -> Loss {
        match (task.loss, self.loss) {
            (Some(l), _) => l,
            (None, Loss::Bce) => Loss::BceTask,
            (None, l) => l,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    Adam,
    Adamw,
    Sgd,
}

/// The validation quantity that picks the best epoch and stops training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    /// The training loss evaluated on the validation split (lower is better).
    ValLoss,
    /// Mean over heads of validation balanced accuracy (higher is better).
    ValBalancedAccuracy,
    /// Validation joint exact match (higher is better).
    ValExactMatch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default = "default_loss")]
    pub loss: Loss,
    #[serde(default = "default_optimizer")]
    pub optimizer: Optimizer,
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default)]
    pub weight_decay: f64,
    /// SGD momentum; ignored by Adam and AdamW.
    #[serde(default = "default_momentum")]
    pub momentum: f64,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Epochs without improvement of `monitor` before training stops; the
    /// best epoch's weights are kept. 0 turns early stopping off: all epochs
    /// run and the last epoch's weights are kept.
    #[serde(default = "default_patience")]
    pub patience: usize,
    #[serde(default = "default_monitor")]
    pub monitor: Monitor,
    /// γ of the focal loss.
    #[serde(default = "default_focal_gamma")]
    pub focal_gamma: f64,
    /// ε of label smoothing for softmax losses: the target puts 1 − ε + ε/K
    /// on the true class and ε/K on each other.
    #[serde(default)]
    pub label_smoothing: f64,
    /// Class weights of every task without its own.
    #[serde(default = "default_class_weights")]
    pub class_weights: ClassWeighting,
    #[serde(default = "default_task_weighting")]
    pub task_weighting: TaskWeighting,
    /// DWA's temperature T.
    #[serde(default = "default_dwa_temperature")]
    pub dwa_temperature: f64,
    /// GradNorm's asymmetry α.
    #[serde(default = "default_gradnorm_alpha")]
    pub gradnorm_alpha: f64,
    /// δ of the Huber loss, in standard deviations of the training target.
    #[serde(default = "default_huber_delta")]
    pub huber_delta: f64,
}

fn default_huber_delta() -> f64 {
    1.0
}

fn default_gradnorm_alpha() -> f64 {
    1.5
}

fn default_focal_gamma() -> f64 {
    2.0
}
fn default_class_weights() -> ClassWeighting {
    ClassWeighting::None
}
fn default_task_weighting() -> TaskWeighting {
    TaskWeighting::Fixed
}
fn default_dwa_temperature() -> f64 {
    2.0
}

fn default_loss() -> Loss {
    Loss::Ce
}
fn default_optimizer() -> Optimizer {
    Optimizer::Adam
}
fn default_lr() -> f64 {
    1e-3
}
fn default_momentum() -> f64 {
    0.9
}
fn default_epochs() -> usize {
    40
}
fn default_batch_size() -> usize {
    128
}
fn default_patience() -> usize {
    10
}
fn default_monitor() -> Monitor {
    Monitor::ValLoss
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            loss: default_loss(),
            optimizer: default_optimizer(),
            lr: default_lr(),
            weight_decay: 0.0,
            momentum: default_momentum(),
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            patience: default_patience(),
            monitor: default_monitor(),
            focal_gamma: default_focal_gamma(),
            label_smoothing: 0.0,
            class_weights: default_class_weights(),
            task_weighting: default_task_weighting(),
            dwa_temperature: default_dwa_temperature(),
            gradnorm_alpha: default_gradnorm_alpha(),
            huber_delta: default_huber_delta(),
        }
    }
}

/// One fully resolved run: a grid point's settings and one seed. Data paths
/// are resolved against the sweep file's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub sweep: String,
    pub seed: u64,
    pub data: DataConfig,
    pub tasks: Vec<TaskConfig>,
    pub model: ModelConfig,
    pub train: TrainConfig,
}
