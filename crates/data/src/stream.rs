//! Loading with `data.select` without holding the source matrix: the rows
//! are read twice, a bounded block at a time — once to fit the training
//! statistics (missing counts and variances), once to gather the chosen
//! columns — so memory holds only the statistics and the selected matrix.
//! NumPy `.npy`, AnnData with a dense X, and CSV/TSV a row per sample are
//! read this way; other sources are read whole and then selected, to the
//! same result.

use std::io::Read;
use std::path::Path;

use headsweep_spec::{DataConfig, Missing, Orientation, Select, TaskConfig};
use rayon::prelude::*;

use crate::dataset::{finish, missing_cell_error, plan_rows, Dataset};
use crate::error::DataError;
use crate::formats::{detect, Format};
use crate::matrix::{parse_cell, Matrix};
use crate::rows::{RawRows, RowFn, RowSource, Rows};
use crate::select::{listed, top_variance, ColumnStats};
use crate::sheet::Sheet;
use crate::text::{delimiter, open};

/// `path` as a row source with the labels it carries, when its format can
/// be streamed.
pub(crate) fn open_rows(
    path: &Path,
    config: &DataConfig,
) -> Result<Option<(Rows, Option<Sheet>)>, DataError> {
    Ok(match detect(path)? {
        Format::Npy => {
            let Some(ids) = &config.ids else {
                return Ok(None);
            };
            Some((
                Box::new(RawRows::npy(path, ids, config.feature_names.as_deref())?),
                None,
            ))
        }
        Format::AnnData => crate::h5ad::dense_rows(path, config.layer.as_deref())?
            .map(|(rows, obs)| (rows, Some(obs))),
        Format::Delimited if config.orientation == Orientation::SamplesByFeatures => {
            Some((Box::new(DelimitedRows::open(path)?), None))
        }
        _ => None,
    })
}

/// The data set of `config`, streaming `src` (see the module's doc).
pub(crate) fn load(
    mut src: Rows,
    sheet: &Sheet,
    config: &DataConfig,
    tasks: &[TaskConfig],
    select: &Select,
) -> Result<Dataset, DataError> {
    let rows = plan_rows(
        src.ids(),
        src.features(),
        src.source(),
        sheet,
        config,
        tasks,
    )?;
    let (n, p) = (src.ids().len(), src.features().len());
    let train = rows.train();
    let mut role = vec![0u8; n]; // 1 kept, 2 training
    for r in rows.kept() {
        role[r] = 1;
    }
    for &r in &train {
        role[r] = 2;
    }
    // Pass 1: training statistics, and missing cells where they are errors.
    let mut stats = ColumnStats::new(p);
    let mut missing_cells = 0usize;
    let mut first_missing: Option<(usize, usize)> = None;
    let check_missing = config.missing == Missing::Error;
    src.each_row(&mut |r, row| {
        if role[r] == 2 {
            stats.push(row);
        }
        if check_missing && role[r] > 0 {
            for (j, v) in row.iter().enumerate() {
                if v.is_nan() {
                    missing_cells += 1;
                    first_missing.get_or_insert((r, j));
                }
            }
        }
        Ok(())
    })?;
    if let Some((r, j)) = first_missing {
        return Err(missing_cell_error(
            src.source(),
            &src.ids()[r],
            &src.features()[j],
            missing_cells,
        ));
    }
    let mut columns: Vec<usize> = (0..p).collect();
    if let Missing::Drop { max_fraction } = config.missing {
        let n_train = train.len().max(1) as f64;
        columns.retain(|&j| (train.len() - stats.count(j)) as f64 / n_train <= max_fraction);
        if columns.is_empty() {
            return Err(crate::dataset::all_missing_error(
                src.source(),
                p,
                max_fraction,
            ));
        }
    }
    let dropped_features = p - columns.len();
    let selected_from = columns.len();
    let chosen = match select {
        Select::TopVariance(k) => top_variance(&stats, &columns, *k),
        Select::Features(path) => listed(src.features(), src.source(), &columns, path)?,
    };
    drop(stats);
    // Pass 2: the chosen columns of the samples.
    let mut at = vec![usize::MAX; n];
    for (i, r) in rows.kept().into_iter().enumerate() {
        at[r] = i;
    }
    let k = chosen.len();
    let kept = rows.keep.len();
    let mut values = vec![0f32; kept * k];
    src.each_row(&mut |r, row| {
        if at[r] != usize::MAX {
            let out = &mut values[at[r] * k..(at[r] + 1) * k];
            for (o, &j) in out.iter_mut().zip(&chosen) {
                *o = row[j];
            }
        }
        Ok(())
    })?;
    let matrix = Matrix {
        ids: rows
            .keep
            .iter()
            .map(|&(r, _)| src.ids()[r].clone())
            .collect(),
        features: chosen.iter().map(|&j| src.features()[j].clone()).collect(),
        values,
        source: src.source().to_path_buf(),
    };
    let rows = rows.renumbered();
    finish(matrix, rows, dropped_features, Some(selected_from))
}

/// A CSV/TSV matrix, a row per sample, parsed a row at a time (its cells
/// in parallel).
struct DelimitedRows {
    axes: Matrix,
}

impl DelimitedRows {
    fn reader(path: &Path) -> Result<csv::Reader<Box<dyn Read>>, DataError> {
        Ok(csv::ReaderBuilder::new()
            .delimiter(delimiter(path))
            .has_headers(true)
            .flexible(true)
            .from_reader(open(path)?))
    }

    fn open(path: &Path) -> Result<Self, DataError> {
        let csv_err = |e: csv::Error| {
            DataError::at(path, e.position().map_or(0, |p| p.line()), e.to_string())
        };
        let mut reader = Self::reader(path)?;
        let header = reader.byte_headers().map_err(csv_err)?.clone();
        if header.len() < 2 {
            return Err(DataError::at(
                path,
                1,
                "the header needs an id column and at least one feature column",
            ));
        }
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let features = header.iter().skip(1).map(text).collect();
        // A first pass for the ids alone: the split needs them first.
        let mut ids = Vec::new();
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).map_err(csv_err)? {
            ids.push(text(&record[0]));
        }
        let m = Matrix {
            ids,
            features,
            values: Vec::new(),
            source: path.to_path_buf(),
        };
        m.check_unique_ids(|i| i as u64 + 2)?;
        Ok(DelimitedRows { axes: m })
    }
}

impl RowSource for DelimitedRows {
    fn axes(&self) -> &Matrix {
        &self.axes
    }
    fn each_row(&mut self, f: &mut RowFn) -> Result<(), DataError> {
        let path = self.axes.source.clone();
        let csv_err = |e: csv::Error| {
            DataError::at(&path, e.position().map_or(0, |p| p.line()), e.to_string())
        };
        let mut reader = Self::reader(&path)?;
        let width = self.axes.features.len() + 1;
        let mut record = csv::ByteRecord::new();
        let mut row = vec![0f32; width - 1];
        let mut r = 0;
        while reader.read_byte_record(&mut record).map_err(csv_err)? {
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != width {
                return Err(DataError::at(
                    &path,
                    line,
                    format!("{} fields, but the header has {width}", record.len()),
                ));
            }
            let bad = row
                .par_iter_mut()
                .with_min_len(4096)
                .enumerate()
                .map(|(j, o)| {
                    let cell = std::str::from_utf8(&record[j + 1]).ok();
                    match cell.and_then(parse_cell) {
                        Some(v) => {
                            *o = v;
                            None
                        }
                        None => Some(j),
                    }
                })
                .find_first(Option::is_some)
                .flatten();
            if let Some(j) = bad {
                return Err(DataError::at(
                    &path,
                    line,
                    format!(
                        "column {} ({}): {:?} is not a number",
                        j + 2,
                        self.axes.features[j],
                        String::from_utf8_lossy(&record[j + 1])
                    ),
                ));
            }
            f(r, &row)?;
            r += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, OutputFormat};
    use headsweep_spec::{Preset, Split};
    use std::path::PathBuf;

    fn tasks() -> Vec<TaskConfig> {
        let task = |name: &str, bins: Option<Vec<f64>>| TaskConfig {
            bins,
            ..TaskConfig::named(name)
        };
        vec![
            task("age", Some(vec![0.0, 40.0, 60.0, 100.0])),
            task("sex", None),
        ]
    }

    /// The data set read whole and then selected.
    fn whole(config: &DataConfig) -> Result<Dataset, DataError> {
        let features = config.features.as_deref().unwrap();
        let (m, carried) =
            crate::source::read_features(features, &crate::source::ReadOptions::of(config))?;
        let sheet = crate::load::labels_sheet(config, carried)?;
        crate::dataset::assemble(m, &sheet, config, &tasks())
    }

    /// The data set of `config` streamed, its labels from the sheet or the
    /// file.
    fn streamed(
        config: &DataConfig,
        tasks: &[TaskConfig],
        select: &Select,
    ) -> Result<Dataset, DataError> {
        let features = config.features.as_deref().unwrap();
        let (rows, carried) = open_rows(features, config)?.unwrap();
        let sheet = crate::load::labels_sheet(config, carried)?;
        load(rows, &sheet, config, tasks, select)
    }

    /// Points `config` at the files `data synth` wrote in `format`.
    fn wire(config: &mut DataConfig, format: OutputFormat, files: &[PathBuf]) {
        config.features = Some(files[0].clone());
        match format {
            OutputFormat::Npy => {
                config.ids = Some(files[1].clone());
                config.feature_names = Some(files[2].clone());
                config.labels = Some(files[3].clone());
            }
            OutputFormat::Tsv => config.labels = Some(files[1].clone()),
            OutputFormat::H5ad => {}
        }
    }

    fn same(a: &Dataset, b: &Dataset) {
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.feature_names, b.feature_names);
        assert_eq!(a.parts, b.parts);
        assert_eq!(a.scaler, b.scaler);
        assert_eq!(a.dropped_features, b.dropped_features);
        assert_eq!(a.selected_from, b.selected_from);
        assert_eq!(a.dropped, b.dropped);
        assert!(a
            .x
            .iter()
            .zip(b.x.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits()));
        for (s, t) in a.tasks.iter().zip(&b.tasks) {
            assert_eq!(s.labels, t.labels);
        }
    }

    #[test]
    fn a_compressed_anndata_x_streams_through_the_hdf5_decoder() {
        // dense.h5ad is gzip-compressed and chunked (written by anndata):
        // not one plain block, so its rows come through hyperslab reads.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dense.h5ad");
        let config = DataConfig {
            features: Some(path.clone()),
            split: Split {
                train: 0.5,
                val: 0.25,
                test: 0.25,
            },
            select: Some(Select::TopVariance(2)),
            ..Default::default()
        };
        let tasks = vec![TaskConfig::named("tissue")];
        let streamed = streamed(&config, &tasks, &Select::TopVariance(2)).unwrap();
        let (m, carried) =
            crate::source::read_features(&path, &crate::source::ReadOptions::of(&config)).unwrap();
        let read = crate::dataset::assemble(m, &carried.unwrap(), &config, &tasks).unwrap();
        same(&streamed, &read);
        assert_eq!(streamed.n_features(), 2);
    }

    #[test]
    fn streaming_selects_exactly_what_reading_whole_does() {
        let d = tempfile::tempdir().unwrap();
        let g = generate(Preset::Methylation, 90, 300, 4);
        for format in [OutputFormat::Npy, OutputFormat::H5ad, OutputFormat::Tsv] {
            let dir = d.path().join(format!("{format:?}"));
            let files = g.write(&dir, Preset::Methylation, format).unwrap();
            for (select, missing) in [
                (Select::TopVariance(25), Missing::Impute),
                (
                    Select::TopVariance(40),
                    Missing::Drop { max_fraction: 0.01 },
                ),
                (Select::TopVariance(1000), Missing::Impute),
            ] {
                let mut config = DataConfig {
                    split: Split {
                        train: 0.6,
                        val: 0.2,
                        test: 0.2,
                    },
                    seed: 3,
                    select: Some(select.clone()),
                    missing,
                    ..Default::default()
                };
                wire(&mut config, format, &files);
                let streamed = streamed(&config, &tasks(), &select).unwrap();
                let read = whole(&config).unwrap();
                same(&streamed, &read);
                let want = match select {
                    Select::TopVariance(k) => k.min(300 - read.dropped_features),
                    Select::Features(_) => unreachable!(),
                };
                assert_eq!(streamed.n_features(), want, "{format:?} {select:?}");
            }
            // data.missing = "error" names the same first cell.
            let mut config = DataConfig {
                select: Some(Select::TopVariance(10)),
                missing: Missing::Error,
                ..Default::default()
            };
            wire(&mut config, format, &files);
            let e = streamed(&config, &tasks(), &Select::TopVariance(10))
                .unwrap_err()
                .to_string();
            let w = whole(&config).unwrap_err().to_string();
            assert_eq!(e, w);
            assert!(e.contains("is missing"), "{e}");
        }
    }
}
