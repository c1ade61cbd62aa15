//! Prepared data sets kept on disk beside the store, so that a selected
//! array-scale matrix is read and selected once (by `run`, before its
//! workers start) and every worker memory-maps the result: the pages are
//! shared, one copy in memory however many workers train.
//!
//! A file is named by the BLAKE3 of what it was made from: the `[data]`
//! section (which holds `data.seed`, the split and the fold — a matrix
//! scaled on one fold's training samples must never serve another), the
//! tasks, and each input file's path, length and modification time. It is
//! written through a temporary name and renamed, and carries the BLAKE3 of
//! its values, checked when read; a damaged or foreign file is set aside
//! and the data set made again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use headsweep_spec::{DataConfig, TaskConfig};
use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, Scaler};
use crate::error::DataError;
use crate::labels::TaskLabels;
use crate::split::Part;
use crate::values::{Values, ALIGN};

const MAGIC: &[u8; 8] = b"HSDATA1\n";

/// Everything of a [`Dataset`] but its values. Floats are kept as their
/// bits: a JSON number need not read back to the same f64.
#[derive(Serialize, Deserialize)]
struct Header {
    key: String,
    ids: Vec<String>,
    feature_names: Vec<String>,
    tasks: Vec<TaskRecord>,
    parts: Vec<Part>,
    mean: Vec<u64>,
    scale: Vec<u64>,
    dropped: usize,
    unmatched: usize,
    dropped_features: usize,
    selected_from: Option<usize>,
    truth: Option<Vec<String>>,
    /// BLAKE3 of the values' bytes.
    values: String,
}

#[derive(Serialize, Deserialize)]
struct TaskRecord {
    name: String,
    classes: Vec<String>,
    labels: Vec<Option<usize>>,
    weight: u64,
    ordered: bool,
    edges: Option<Vec<u64>>,
    values: Vec<Option<u64>>,
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn floats(v: &[u64]) -> Vec<f64> {
    v.iter().map(|&b| f64::from_bits(b)).collect()
}

impl From<&TaskLabels> for TaskRecord {
    fn from(t: &TaskLabels) -> Self {
        TaskRecord {
            name: t.name.clone(),
            classes: t.classes.clone(),
            labels: t.labels.clone(),
            weight: t.weight.to_bits(),
            ordered: t.ordered,
            edges: t.edges.as_deref().map(bits),
            values: t.values.iter().map(|v| v.map(f64::to_bits)).collect(),
        }
    }
}

impl From<TaskRecord> for TaskLabels {
    fn from(t: TaskRecord) -> Self {
        TaskLabels {
            name: t.name,
            classes: t.classes,
            labels: t.labels,
            weight: f64::from_bits(t.weight),
            ordered: t.ordered,
            edges: t.edges.as_deref().map(floats),
            values: t.values.iter().map(|v| v.map(f64::from_bits)).collect(),
        }
    }
}

/// Whether a data set is worth caching: selected features from files.
pub fn cacheable(config: &DataConfig) -> bool {
    config.select.is_some() && config.features.is_some()
}

/// The cache file's name for `config` and `tasks`.
pub fn key(config: &DataConfig, tasks: &[TaskConfig]) -> Result<String, DataError> {
    let files: Vec<PathBuf> = config
        .paths()
        .into_iter()
        .flat_map(crate::check::with_sidecars)
        .collect();
    let mut stamps = Vec::new();
    for f in &files {
        let meta = std::fs::metadata(f).map_err(|source| DataError::Io {
            path: f.to_path_buf(),
            source,
        })?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        stamps.push((f.display().to_string(), meta.len(), mtime.to_string()));
    }
    let doc = serde_json::json!({
        "format": 1,
        "data": config,
        "tasks": tasks,
        "files": stamps,
    });
    Ok(blake3::hash(doc.to_string().as_bytes()).to_hex()[..32].to_string())
}

fn path_of(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{key}.hsdata"))
}

/// Writes `data` as the cache file of `key` in `dir` (a no-op when it is
/// there already).
pub fn write(dir: &Path, key: &str, data: &Dataset) -> Result<PathBuf, DataError> {
    let path = path_of(dir, key);
    if path.exists() {
        return Ok(path);
    }
    let werr = |source| DataError::Write {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(werr)?;
    let mut bytes = Vec::with_capacity(data.x.len() * 4);
    for v in data.x.iter() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let header = Header {
        key: key.to_string(),
        ids: data.ids.clone(),
        feature_names: data.feature_names.clone(),
        tasks: data.tasks.iter().map(TaskRecord::from).collect(),
        parts: data.parts.clone(),
        mean: bits(&data.scaler.mean),
        scale: bits(&data.scaler.scale),
        dropped: data.dropped,
        unmatched: data.unmatched,
        dropped_features: data.dropped_features,
        selected_from: data.selected_from,
        truth: data.truth.clone(),
        values: blake3::hash(&bytes).to_hex().to_string(),
    };
    let json = serde_json::to_vec(&header).expect("a header serialises");
    let start = (MAGIC.len() + 8 + json.len()).div_ceil(ALIGN) * ALIGN;
    crate::atomic::write_file(&path, false, |f| {
        f.write_all(MAGIC)?;
        f.write_all(&(json.len() as u64).to_le_bytes())?;
        f.write_all(&json)?;
        f.write_all(&vec![0u8; start - MAGIC.len() - 8 - json.len()])?;
        f.write_all(&bytes)
    })?;
    Ok(path)
}

/// The cached data set of `key` in `dir`, its values mapped in place; `None`
/// when there is none, or it cannot be trusted (it is then removed).
pub fn read(dir: &Path, key: &str) -> Option<Dataset> {
    let path = path_of(dir, key);
    let file = std::fs::File::open(&path).ok()?;
    let parsed = (|| {
        // SAFETY: cache files are written whole and renamed into place,
        // never modified after; the values' hash is checked below.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        if cfg!(target_endian = "big") || map.len() < 16 || &map[..8] != MAGIC {
            return None;
        }
        let n = u64::from_le_bytes(map[8..16].try_into().ok()?) as usize;
        let header: Header = serde_json::from_slice(map.get(16..16 + n)?).ok()?;
        let start = (16 + n).div_ceil(ALIGN) * ALIGN;
        let len = header.ids.len() * header.feature_names.len();
        let bytes = map.get(start..start + len * 4)?;
        if header.key != key || blake3::hash(bytes).to_hex().as_str() != header.values {
            return None;
        }
        Some(Dataset {
            ids: header.ids,
            feature_names: header.feature_names,
            x: Values::Mapped {
                map: Arc::new(map),
                offset: start,
                len,
            },
            tasks: header.tasks.into_iter().map(TaskLabels::from).collect(),
            parts: header.parts,
            scaler: Scaler {
                mean: floats(&header.mean),
                scale: floats(&header.scale),
            },
            dropped: header.dropped,
            unmatched: header.unmatched,
            dropped_features: header.dropped_features,
            selected_from: header.selected_from,
            truth: header.truth,
        })
    })();
    if parsed.is_none() {
        tracing::warn!(path = %path.display(), "a damaged data cache file is removed");
        let _ = std::fs::remove_file(&path);
    }
    parsed
}

/// Keeps `data`, loaded for `config` and `tasks`, in the cache in `dir`
/// when it is worth it (see [`cacheable`]).
pub fn keep(
    dir: &Path,
    config: &DataConfig,
    tasks: &[TaskConfig],
    data: &Dataset,
) -> Result<(), DataError> {
    if cacheable(config) {
        write(dir, &key(config, tasks)?, data)?;
    }
    Ok(())
}

/// The data set of `config`: from the cache in `dir` when it is there,
/// else loaded (and, when worth it, written there for the next process).
pub fn load_cached(
    config: &DataConfig,
    tasks: &[TaskConfig],
    dir: Option<&Path>,
) -> Result<Dataset, DataError> {
    let Some(dir) = dir.filter(|_| cacheable(config)) else {
        return crate::load::load(config, tasks);
    };
    let key = key(config, tasks)?;
    if let Some(d) = read(dir, &key) {
        return Ok(d);
    }
    let data = crate::load::load(config, tasks)?;
    write(dir, &key, &data)?;
    Ok(read(dir, &key).unwrap_or(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, OutputFormat};
    use headsweep_spec::Preset;
    use headsweep_spec::Select;

    #[test]
    fn a_cached_data_set_reads_back_mapped_and_equal() {
        let d = tempfile::tempdir().unwrap();
        let g = generate(Preset::Methylation, 80, 120, 2);
        let files = g
            .write(
                &d.path().join("src"),
                Preset::Methylation,
                OutputFormat::H5ad,
            )
            .unwrap();
        let task = TaskConfig::named("sex");
        let config = DataConfig {
            features: Some(files[0].clone()),
            select: Some(Select::TopVariance(30)),
            ..Default::default()
        };
        let cache = d.path().join("cache");
        let direct = crate::load::load(&config, std::slice::from_ref(&task)).unwrap();
        let first = load_cached(&config, std::slice::from_ref(&task), Some(&cache)).unwrap();
        assert!(matches!(first.x, Values::Mapped { .. }));
        let key = key(&config, std::slice::from_ref(&task)).unwrap();
        let again = read(&cache, &key).unwrap();
        for d in [&first, &again] {
            assert_eq!(d.ids, direct.ids);
            assert_eq!(d.feature_names, direct.feature_names);
            assert_eq!(&d.x[..], &direct.x[..]);
            assert_eq!(d.parts, direct.parts);
            assert_eq!(d.scaler, direct.scaler);
            assert_eq!(d.tasks, direct.tasks);
        }
        // Another fold or seed is another file.
        let other = DataConfig {
            seed: 1,
            ..config.clone()
        };
        assert_ne!(
            super::key(&other, std::slice::from_ref(&task)).unwrap(),
            key
        );
        // A damaged file is not trusted, and is made again.
        let path = path_of(&cache, &key);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&cache, &key).is_none());
        assert!(!path.exists());
        let remade = load_cached(&config, &[task], Some(&cache)).unwrap();
        assert_eq!(&remade.x[..], &direct.x[..]);
    }
}
