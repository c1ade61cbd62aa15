//! Checks that need the data files but not their full contents: run before
//! any training, so that a sweep fails at once rather than run by run.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use headsweep_spec::{DataConfig, TaskConfig};

use crate::error::DataError;
use crate::sheet::list;
use crate::text::{delimiter, open};

/// BLAKE3 of a file's content, hex. A PLINK `.bed` is hashed with its
/// `.bim` and `.fam`, which name its SNPs and samples: editing either
/// changes the data.
pub fn content_hash(path: &Path) -> Result<String, DataError> {
    let mut hasher = blake3::Hasher::new();
    for p in &with_sidecars(path) {
        let io = |source| DataError::Io {
            path: p.to_path_buf(),
            source,
        };
        let mut file = std::fs::File::open(p).map_err(io)?;
        // Large reads hashed on every core: array-scale files are hashed
        // for each run identity's first sight.
        let mut buf = vec![0u8; 16 << 20];
        loop {
            let mut n = 0;
            while n < buf.len() {
                let k = file.read(&mut buf[n..]).map_err(io)?;
                if k == 0 {
                    break;
                }
                n += k;
            }
            if n == 0 {
                break;
            }
            hasher.update_rayon(&buf[..n]);
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// A data file with the files read with it: a PLINK `.bed`'s `.bim` and
/// `.fam`, which name its SNPs and samples.
pub(crate) fn with_sidecars(path: &Path) -> Vec<std::path::PathBuf> {
    if path.extension().is_some_and(|e| e == "bed") {
        let (bim, fam) = crate::plink::sidecars(path);
        vec![path.to_path_buf(), bim, fam]
    } else {
        vec![path.to_path_buf()]
    }
}

fn header(path: &Path) -> Result<Vec<String>, DataError> {
    let mut line = String::new();
    BufReader::new(open(path)?)
        .read_line(&mut line)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    let line = line.trim_end_matches(['\n', '\r']);
    if line.is_empty() {
        return Err(DataError::at(path, 1, "empty file: expected a header row"));
    }
    Ok(line
        .split(delimiter(path) as char)
        .map(|s| s.trim().to_string())
        .collect())
}

/// That the data files exist, their headers parse, and the sheet has the id
/// column and every task's column. Generated data needs no check.
pub fn check_headers(config: &DataConfig, tasks: &[TaskConfig]) -> Result<(), DataError> {
    let Some(features) = &config.features else {
        return Ok(());
    };
    let format = crate::formats::detect(features)?;
    if format == crate::formats::Format::PlinkBed {
        let (bim, fam) = crate::plink::sidecars(features);
        for p in [&bim, &fam] {
            std::fs::metadata(p).map_err(|source| DataError::Io {
                path: p.clone(),
                source,
            })?;
        }
        let Some(labels) = &config.labels else {
            let columns: Vec<String> = crate::plink::LABEL_COLUMNS
                .iter()
                .map(|c| c.to_string())
                .collect();
            return check_task_columns(&fam, &columns, tasks, "the .fam");
        };
        return check_sheet(labels, config, tasks);
    }
    if format == crate::formats::Format::AnnData {
        if let Some(layer) = &config.layer {
            crate::h5ad::check_layer(features, layer)?;
        }
        let Some(labels) = &config.labels else {
            let columns = crate::h5ad::label_columns(features)?;
            return check_task_columns(features, &columns, tasks, "the file's obs");
        };
        return check_sheet(labels, config, tasks);
    }
    if format == crate::formats::Format::GeoSeriesMatrix {
        let Some(labels) = &config.labels else {
            // The series' own characteristics are the labels.
            let columns = crate::geo::label_columns(features)?;
            return check_task_columns(
                features,
                &columns,
                tasks,
                "the series' sample characteristics",
            );
        };
        return check_sheet(labels, config, tasks);
    }
    let Some(labels) = &config.labels else {
        return Err(DataError::file(
            features,
            "this matrix carries no labels: set data.labels, the sample sheet",
        ));
    };
    if format == crate::formats::Format::Npy {
        let file = std::fs::File::open(features).map_err(|source| DataError::Io {
            path: features.clone(),
            source,
        })?;
        let npy = npyz::NpyFile::new(BufReader::new(file)).map_err(|source| DataError::Io {
            path: features.clone(),
            source,
        })?;
        if npy.shape().len() != 2 {
            return Err(DataError::file(
                features,
                format!("expected a 2-D array, found shape {:?}", npy.shape()),
            ));
        }
        for ids in [&config.ids, &config.feature_names].into_iter().flatten() {
            std::fs::metadata(ids).map_err(|source| DataError::Io {
                path: ids.clone(),
                source,
            })?;
        }
    } else if format != crate::formats::Format::Parquet && header(features)?.len() < 2 {
        return Err(DataError::at(
            features,
            1,
            "the header needs an id column and at least one feature column",
        ));
    }
    check_sheet(labels, config, tasks)
}

/// The sample sheet's header has the id column and every task's column.
fn check_sheet(labels: &Path, config: &DataConfig, tasks: &[TaskConfig]) -> Result<(), DataError> {
    let columns = header(labels)?;
    if let Some(id) = &config.id_column {
        if !columns.contains(id) {
            return Err(DataError::at(
                labels,
                1,
                format!(
                    "no id column {id:?}; the columns are {}",
                    list(columns.iter().map(String::as_str))
                ),
            ));
        }
    }
    check_task_columns(labels, &columns, tasks, "the sheet")
}

fn check_task_columns(
    path: &Path,
    columns: &[String],
    tasks: &[TaskConfig],
    what: &str,
) -> Result<(), DataError> {
    for t in tasks {
        if !columns.iter().any(|c| c == t.column()) {
            return Err(DataError::at(
                path,
                1,
                format!(
                    "task {:?} needs column {:?}, which {what} lacks; its columns are {}",
                    t.name,
                    t.column(),
                    list(columns.iter().map(String::as_str))
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_hashes() {
        let d = tempfile::tempdir().unwrap();
        let x = d.path().join("x.tsv");
        let y = d.path().join("y.csv");
        std::fs::write(&x, "id\ta\tb\ns1\t1\t2\n").unwrap();
        std::fs::write(&y, "id,age,sex\ns1,3,F\n").unwrap();
        let mut config = DataConfig {
            features: Some(x.clone()),
            labels: Some(y.clone()),
            ..Default::default()
        };
        let task = |c: &str| TaskConfig {
            name: "t".into(),
            column: Some(c.into()),
            bins: None,
            weight: 1.0,
            loss: None,
            class_weights: None,
            order: None,
        };
        check_headers(&config, &[task("age"), task("sex")]).unwrap();
        let e = check_headers(&config, &[task("tissue")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("y.csv:1: task \"t\" needs column \"tissue\""),
            "{e}"
        );
        config.features = Some(d.path().join("absent.tsv"));
        assert!(check_headers(&config, &[task("age")])
            .unwrap_err()
            .to_string()
            .contains("absent.tsv"));

        let h = content_hash(&x).unwrap();
        assert_eq!(
            h,
            blake3::hash(b"id\ta\tb\ns1\t1\t2\n").to_hex().to_string()
        );
    }
}
