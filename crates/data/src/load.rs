//! Loading a sweep's data set: generated, read whole, or streamed when a
//! selection makes the source worth never holding.

use std::collections::HashMap;

use headsweep_spec::{DataConfig, TaskConfig};

use crate::dataset::Dataset;
use crate::error::DataError;
use crate::sheet::Sheet;

/// Loads the data of `config` for `tasks`: reads or generates the matrix and
/// sheet, joins them, splits, imputes and standardises.
pub fn load(config: &DataConfig, tasks: &[TaskConfig]) -> Result<Dataset, DataError> {
    let mut truth = None;
    let (matrix, sheet) = match &config.synthetic {
        Some(s) => {
            let tuning = crate::synth::Tuning {
                sex_effect: s.sex_effect,
                age_shape: s.age_shape,
            };
            let g =
                crate::synth::generate_tuned(s.preset, s.samples, s.features, config.seed, tuning);
            truth = Some(g.truth.iter().map(|t| t.target().to_string()).collect());
            (g.matrix, g.sheet)
        }
        None => {
            let features = config
                .features
                .as_deref()
                .ok_or(DataError::NotSet("data.features"))?;
            if let Some(select) = &config.select {
                if let Some((rows, carried)) = crate::stream::open_rows(features, config)? {
                    let sheet = labels_sheet(config, carried)?;
                    return crate::stream::load(rows, &sheet, config, tasks, select);
                }
            }
            let (matrix, carried) =
                crate::source::read_features(features, &crate::source::ReadOptions::of(config))?;
            (matrix, labels_sheet(config, carried)?)
        }
    };
    let names = matrix.features.clone();
    let mut data = crate::dataset::assemble(matrix, &sheet, config, tasks)?;
    // The generator's truth, for the features kept (data.missing and
    // data.select may leave some out).
    data.truth = truth.map(|t: Vec<String>| {
        let of: HashMap<&str, &String> = names.iter().map(String::as_str).zip(&t).collect();
        data.feature_names
            .iter()
            .map(|f| of[f.as_str()].clone())
            .collect()
    });
    Ok(data)
}

/// The labels: a sample sheet when one is given, else the file's own.
pub(crate) fn labels_sheet(
    config: &DataConfig,
    carried: Option<Sheet>,
) -> Result<Sheet, DataError> {
    match (config.labels.as_deref(), carried) {
        (Some(labels), _) => Sheet::read(labels, config.id_column.as_deref()),
        (None, Some(sheet)) => Ok(sheet),
        (None, None) => Err(DataError::NotSet("data.labels")),
    }
}
