//! AnnData `.h5ad` files, read with a pure-Rust HDF5 decoder following
//! anndata's on-disk layout: `X` (dense, CSR or CSC) or a layer is the
//! matrix, `obs_names` the sample ids, `var_names` the feature names and
//! `obs` columns the labels. Both dataframe encodings anndata has written
//! are read: 0.2.0 (anndata ≥ 0.8: categoricals as groups of `codes` and
//! `categories`, nullable columns as `values` and `mask`) and 0.1.0
//! (anndata 0.7: codes with their categories in `obs/__categories`).

use std::path::Path;

use hdf5_reader::error::Error as H5Error;
use hdf5_reader::group::Group;
use hdf5_reader::{Dataset, Datatype, Hdf5File};

use crate::error::DataError;
use crate::matrix::Matrix;
use crate::rows::{RawRows, RowFn, RowSource, Rows};
use crate::sheet::Sheet;

/// A file's matrix (X, or `layer`) and its `obs` columns as labels.
pub fn read(path: &Path, layer: Option<&str>) -> Result<(Matrix, Sheet), DataError> {
    let h5 = H5::open(path)?;
    let obs = h5.frame("obs", true)?;
    let var = h5.frame("var", false)?;
    let name = match layer {
        Some(l) => format!("layers/{l}"),
        None => "X".to_string(),
    };
    let values = h5.matrix(&name, obs.index.len(), var.index.len(), layer)?;
    let matrix = Matrix {
        ids: obs.index,
        features: var.index,
        values,
        source: path.to_path_buf(),
    };
    // Rows are numbered from 1 in messages: obs row i is "line" i + 1.
    matrix.check_unique_ids(|i| i as u64 + 1)?;
    let sheet = obs_sheet(&matrix, obs.columns, obs.cells);
    Ok((matrix, sheet))
}

/// The obs columns as a sample sheet over `matrix`'s ids.
fn obs_sheet(matrix: &Matrix, columns: Vec<String>, by_column: Vec<Vec<Option<String>>>) -> Sheet {
    let n = matrix.ids.len();
    let mut cells = vec![Vec::with_capacity(columns.len()); n];
    for column in by_column {
        for (row, cell) in cells.iter_mut().zip(column) {
            row.push(cell);
        }
    }
    Sheet {
        ids: matrix.ids.clone(),
        columns,
        cells,
        lines: (1..=n as u64).collect(),
        source: matrix.source.clone(),
    }
}

/// A dense X (or layer) to read a block of rows at a time, with the obs
/// labels; `None` when the matrix is sparse.
pub(crate) fn dense_rows(
    path: &Path,
    layer: Option<&str>,
) -> Result<Option<(Rows, Sheet)>, DataError> {
    let at = match layer {
        Some(l) => format!("layers/{l}"),
        None => "X".to_string(),
    };
    let (obs, var) = {
        let h5 = H5::open(path)?;
        if h5.file.dataset(&at).is_err() {
            return Ok(None);
        }
        (h5.frame("obs", true)?, h5.frame("var", false)?)
    };
    // Opened again for X alone: what decoding the names cached (their
    // heap collections) is not kept while the rows stream.
    let h5 = H5::open(path)?;
    let ds = h5.file.dataset(&at).map_err(|e| h5.err(&at, e))?;
    h5.check_shape(&at, &dims(&ds), obs.index.len(), var.index.len())?;
    let m = Matrix {
        ids: obs.index,
        features: var.index,
        values: Vec::new(),
        source: path.to_path_buf(),
    };
    m.check_unique_ids(|i| i as u64 + 1)?;
    let sheet = obs_sheet(&m, obs.columns, obs.cells);
    let rows: Rows = match h5.raw_values(&ds) {
        // Stored as one plain block (anndata's default): read as a .npy is.
        Some((offset, wide)) => Box::new(RawRows {
            axes: m,
            offset,
            wide,
        }),
        None => Box::new(DenseRows { ds, at, axes: m }),
    };
    Ok(Some((rows, sheet)))
}

/// A dense X read in blocks of rows (see `stream`).
pub(crate) struct DenseRows {
    ds: Dataset,
    at: String,
    axes: Matrix,
}

impl RowSource for DenseRows {
    fn axes(&self) -> &Matrix {
        &self.axes
    }
    fn each_row(&mut self, f: &mut RowFn) -> Result<(), DataError> {
        use hdf5_reader::{SliceInfo, SliceInfoElem};
        let (n, p) = (self.axes.rows(), self.axes.cols());
        let block = (crate::rows::BLOCK_BYTES / (4 * p.max(1))).max(1);
        let wide = matches!(self.ds.dtype(), Datatype::FloatingPoint { size: 8, .. });
        let err = |e: H5Error| DataError::file(&self.axes.source, format!("{}: {e}", self.at));
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let sel = SliceInfo {
                selections: vec![
                    SliceInfoElem::Slice {
                        start: start as u64,
                        end: end as u64,
                        step: 1,
                    },
                    SliceInfoElem::Slice {
                        start: 0,
                        end: p as u64,
                        step: 1,
                    },
                ],
            };
            let values: Vec<f32> = if wide {
                let (v, _) = self
                    .ds
                    .read_slice::<f64>(&sel)
                    .map_err(err)?
                    .into_raw_vec_and_offset();
                v.into_iter().map(|x| x as f32).collect()
            } else if matches!(self.ds.dtype(), Datatype::FloatingPoint { size: 4, .. }) {
                self.ds
                    .read_slice::<f32>(&sel)
                    .map_err(err)?
                    .into_raw_vec_and_offset()
                    .0
            } else {
                // Integer counts: small enough to read whole, rarely this wide.
                let all = floats(&self.ds).map_err(err)?;
                all[start * p..end * p].to_vec()
            };
            for (i, row) in values.chunks_exact(p.max(1)).enumerate() {
                f(start + i, row)?;
            }
            start = end;
        }
        Ok(())
    }
}

/// The `obs` column names (the labels a task may use), reading no values.
pub fn label_columns(path: &Path) -> Result<Vec<String>, DataError> {
    let h5 = H5::open(path)?;
    Ok(h5.frame("obs", false)?.columns)
}

/// The layers a file holds.
fn layers(path: &Path) -> Result<Vec<String>, DataError> {
    let h5 = H5::open(path)?;
    h5.layer_names()
}

/// That `path` holds the layer `layer`; the error lists the ones it has.
pub(crate) fn check_layer(path: &Path, layer: &str) -> Result<(), DataError> {
    let have = layers(path)?;
    if have.iter().any(|l| l == layer) {
        return Ok(());
    }
    Err(DataError::file(path, no_layer(layer, &have)))
}

fn no_layer(layer: &str, have: &[String]) -> String {
    let have = if have.is_empty() {
        "none".to_string()
    } else {
        have.join(", ")
    };
    format!("no layer {layer:?}; the file's layers are {have}")
}

/// A data frame: its index and, when asked for, its columns as text.
struct Frame {
    index: Vec<String>,
    columns: Vec<String>,
    /// `cells[column][row]`; `None` is missing.
    cells: Vec<Vec<Option<String>>>,
}

struct H5<'a> {
    file: Hdf5File,
    path: &'a Path,
    /// The file's size in bytes.
    len: u64,
}

impl<'a> H5<'a> {
    fn open(path: &'a Path) -> Result<Self, DataError> {
        let file = Hdf5File::open(path)
            .map_err(|e| DataError::file(path, format!("not a readable HDF5 (.h5ad) file: {e}")))?;
        // The superblock records where the file ends, as libhdf5 checks.
        let eof = file.superblock().base_address + file.superblock().eof_address;
        let size = std::fs::metadata(path)
            .map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                source,
            })?
            .len();
        if size < eof {
            return Err(DataError::file(
                path,
                format!("truncated HDF5 file: {size} bytes where its superblock says {eof}; was the copy or download cut short?"),
            ));
        }
        Ok(H5 {
            file,
            path,
            len: size,
        })
    }

    fn err(&self, at: &str, message: impl std::fmt::Display) -> DataError {
        DataError::file(self.path, format!("{at}: {message}"))
    }

    fn group(&self, at: &str) -> Result<Group, DataError> {
        self.file.group(at).map_err(|e| {
            if self.file.dataset(at).is_ok() {
                self.err(
                    at,
                    "a table stored as one compound dataset (anndata < 0.7), which headsweep does not read; open and save the file with a recent anndata",
                )
            } else {
                self.err(at, format!("expected the AnnData group {at:?}: {e}"))
            }
        })
    }

    /// Where a dataset's values lie in the file when they are one plain
    /// block — contiguous, no filter, no external file, little-endian
    /// float32 or float64 — and whether they are float64.
    fn raw_values(&self, ds: &Dataset) -> Option<(u64, bool)> {
        use hdf5_reader::messages::layout::DataLayout;
        use hdf5_reader::messages::HdfMessage;
        let wide = match ds.dtype() {
            Datatype::FloatingPoint {
                size,
                byte_order: hdf5_reader::ByteOrder::LittleEndian,
            } if *size == 4 || *size == 8 => *size == 8,
            _ => return None,
        };
        let header = self.file.get_or_parse_header(ds.address()).ok()?;
        let mut at = None;
        for m in &header.messages {
            match m {
                HdfMessage::FilterPipeline(_) | HdfMessage::ExternalFiles(_) => return None,
                HdfMessage::DataLayout(l) => match &l.layout {
                    DataLayout::Contiguous { address, size } => at = Some((*address, *size)),
                    _ => return None,
                },
                _ => {}
            }
        }
        let (address, size) = at?;
        let n = ds.num_elements().ok()?;
        let start = self.file.superblock().base_address.checked_add(address)?;
        let len = self.len;
        (size == n * if wide { 8 } else { 4 } && start.checked_add(size)? <= len)
            .then_some((start, wide))
    }

    /// That the matrix at `at` has a row per obs and a column per var.
    fn check_shape(
        &self,
        at: &str,
        shape: &[i64],
        rows: usize,
        cols: usize,
    ) -> Result<(), DataError> {
        if shape == [rows as i64, cols as i64] {
            return Ok(());
        }
        Err(self.err(
            at,
            format!("shape {shape:?}, but obs has {rows} rows and var {cols}"),
        ))
    }

    fn layer_names(&self) -> Result<Vec<String>, DataError> {
        let Ok(layers) = self.file.group("layers") else {
            return Ok(Vec::new());
        };
        let (groups, datasets) = layers.member_names().map_err(|e| self.err("layers", e))?;
        let mut names: Vec<String> = groups.into_iter().chain(datasets).collect();
        names.sort();
        Ok(names)
    }

    /// The data frame at `at` (`obs` or `var`).
    fn frame(&self, at: &str, with_columns: bool) -> Result<Frame, DataError> {
        let group = self.group(at)?;
        let index_name = string_attr(&group, "_index").unwrap_or_else(|| "_index".to_string());
        let index = self
            .text(&group, &format!("{at}/{index_name}"), &index_name, None)?
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.ok_or_else(|| {
                    self.err(
                        &format!("{at}/{index_name}"),
                        format!("row {} has no name", i + 1),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (groups, datasets) = group.member_names().map_err(|e| self.err(at, e))?;
        let order = group
            .attribute("column-order")
            .ok()
            .and_then(|a| a.read_strings().ok());
        let columns: Vec<String> = match order {
            Some(o) => o,
            // An empty column order is written as an empty float array.
            None => groups
                .iter()
                .chain(&datasets)
                .filter(|n| *n != &index_name && *n != "__categories")
                .cloned()
                .collect(),
        };
        let mut cells = Vec::new();
        if with_columns {
            for c in &columns {
                let values = self.text(&group, &format!("{at}/{c}"), c, Some(index.len()))?;
                if values.len() != index.len() {
                    return Err(self.err(
                        &format!("{at}/{c}"),
                        format!("{} values for {} rows", values.len(), index.len()),
                    ));
                }
                cells.push(values);
            }
        }
        Ok(Frame {
            index,
            columns,
            cells,
        })
    }

    /// A column (or index) of a data frame as text, in any of anndata's
    /// encodings.
    /// `rows`, when known, is checked against each dataset's length before
    /// it is read: a damaged length must not decide what is allocated.
    fn text(
        &self,
        frame: &Group,
        at: &str,
        name: &str,
        rows: Option<usize>,
    ) -> Result<Vec<Option<String>>, DataError> {
        let e = |m: H5Error| self.err(at, m);
        let sized = |ds: Dataset| -> Result<Dataset, DataError> {
            let n = ds.num_elements().map_err(e)?;
            match rows {
                Some(r) if n != r as u64 => Err(self.err(at, format!("{n} values for {r} rows"))),
                // An index of more names than the file has bytes is damage.
                None if n > self.len => Err(self.err(
                    at,
                    format!("{n} names declared in a file of {} bytes", self.len),
                )),
                _ => Ok(ds),
            }
        };
        if let Ok(g) = frame.group(name) {
            let kind = string_attr(&g, "encoding-type").unwrap_or_default();
            return match kind.as_str() {
                "categorical" => {
                    let categories = column_text(&g.dataset("categories").map_err(e)?).map_err(e)?;
                    let codes = ints(&sized(g.dataset("codes").map_err(e)?)?).map_err(e)?;
                    self.decode(at, &codes, &categories)
                }
                "nullable-integer" | "nullable-boolean" | "nullable-string-array" => {
                    let values =
                        column_text(&sized(g.dataset("values").map_err(e)?)?).map_err(e)?;
                    let mask = ints(&sized(g.dataset("mask").map_err(e)?)?).map_err(e)?;
                    Ok(values
                        .into_iter()
                        .zip(mask)
                        .map(|(v, m)| if m != 0 { None } else { v })
                        .collect())
                }
                other => Err(self.err(
                    at,
                    format!("a column encoded as {other:?}, which headsweep does not read (it reads arrays, strings, categoricals and nullable columns)"),
                )),
            };
        }
        let ds = sized(frame.dataset(name).map_err(e)?)?;
        // anndata 0.7: codes, with their categories in __categories.
        if ds.attribute("categories").is_ok() {
            let categories = frame
                .group("__categories")
                .and_then(|c| c.dataset(name))
                .and_then(|d| column_text(&d))
                .map_err(e)?;
            let codes = ints(&ds).map_err(e)?;
            return self.decode(at, &codes, &categories);
        }
        column_text(&ds).map_err(e)
    }

    fn decode(
        &self,
        at: &str,
        codes: &[i64],
        categories: &[Option<String>],
    ) -> Result<Vec<Option<String>>, DataError> {
        codes
            .iter()
            .enumerate()
            .map(|(row, &c)| match c {
                c if c < 0 => Ok(None),
                c => categories.get(c as usize).cloned().ok_or_else(|| {
                    self.err(
                        at,
                        format!(
                            "row {}: category code {c} is out of range for {} categories",
                            row + 1,
                            categories.len()
                        ),
                    )
                }),
            })
            .collect()
    }

    /// The matrix at `at`, `rows × cols`, row-major; a sparse matrix's
    /// absent entries are zero.
    fn matrix(
        &self,
        at: &str,
        rows: usize,
        cols: usize,
        layer: Option<&str>,
    ) -> Result<Vec<f32>, DataError> {
        let e = |m: H5Error| self.err(at, m);
        if let Ok(ds) = self.file.dataset(at) {
            self.check_shape(at, &dims(&ds), rows, cols)?;
            return floats(&ds).map_err(e);
        }
        let g = self.file.group(at).map_err(|_| match layer {
            Some(l) => self.err(at, no_layer(l, &self.layer_names().unwrap_or_default())),
            None => self.err(at, "the file has no X matrix"),
        })?;
        let kind = string_attr(&g, "encoding-type")
            .or_else(|| string_attr(&g, "h5sparse_format").map(|f| format!("{f}_matrix")))
            .unwrap_or_default();
        let by_row = match kind.as_str() {
            "csr_matrix" => true,
            "csc_matrix" => false,
            other => {
                return Err(self.err(
                    at,
                    format!("a group encoded as {other:?}; expected a dense array or a CSR/CSC sparse matrix"),
                ))
            }
        };
        let shape_attr = g
            .attribute("shape")
            .or_else(|_| g.attribute("h5sparse_shape"))
            .and_then(|a| a.read_1d::<i64>())
            .map_err(e)?;
        self.check_shape(at, &shape_attr, rows, cols)?;
        let (major, minor) = if by_row { (rows, cols) } else { (cols, rows) };
        let sparse = |m: String| self.err(&format!("{at} (sparse)"), m);
        // Lengths are checked before anything is read: a damaged one must
        // not decide what is allocated.
        let (data, indices, indptr) = (
            g.dataset("data").map_err(e)?,
            g.dataset("indices").map_err(e)?,
            g.dataset("indptr").map_err(e)?,
        );
        let count = |d: &Dataset| d.num_elements().map_err(e);
        let (nnz, n_indices, n_indptr) = (count(&data)?, count(&indices)?, count(&indptr)?);
        if n_indptr != major as u64 + 1 {
            return Err(sparse(format!(
                "indptr has {n_indptr} entries, expected {}",
                major + 1
            )));
        }
        if n_indices != nnz || nnz > (rows * cols) as u64 {
            return Err(sparse(format!(
                "{n_indices} indices for {nnz} values in a {rows} × {cols} matrix"
            )));
        }
        let data = floats(&data).map_err(e)?;
        let indices = ints(&indices).map_err(e)?;
        let indptr = ints(&indptr).map_err(e)?;
        if indptr.len() != major + 1 {
            return Err(sparse(format!(
                "indptr has {} entries, expected {}",
                indptr.len(),
                major + 1
            )));
        }
        if indices.len() != data.len() {
            return Err(sparse(format!(
                "{} indices for {} values",
                indices.len(),
                data.len()
            )));
        }
        if indptr[0] != 0 || indptr[major] as usize != data.len() {
            return Err(sparse(format!(
                "indptr runs from {} to {}, expected 0 to {}",
                indptr[0],
                indptr[major],
                data.len()
            )));
        }
        let mut values = vec![0f32; rows * cols];
        for m in 0..major {
            let (a, b) = (indptr[m], indptr[m + 1]);
            if b < a || a < 0 || b as usize > data.len() {
                return Err(sparse(format!(
                    "indptr entry {m} runs from {a} to {b}: not within 0 to {} and increasing",
                    data.len()
                )));
            }
            for k in a as usize..b as usize {
                let i = indices[k];
                if i < 0 || i as usize >= minor {
                    return Err(sparse(format!(
                        "index {i} at entry {k} is out of range for {minor} {}",
                        if by_row { "columns" } else { "rows" }
                    )));
                }
                let (r, c) = if by_row {
                    (m, i as usize)
                } else {
                    (i as usize, m)
                };
                values[r * cols + c] = data[k];
            }
        }
        Ok(values)
    }
}

/// A dataset's shape, in the signed form anndata writes a sparse one's.
fn dims(ds: &Dataset) -> Vec<i64> {
    ds.shape().iter().map(|&d| d as i64).collect()
}

fn string_attr(g: &Group, name: &str) -> Option<String> {
    g.attribute(name).ok()?.read_string().ok()
}

type H5Result<T> = Result<T, H5Error>;

/// Any integer dataset (or a boolean: an enum of integers) as i64.
fn ints(ds: &Dataset) -> H5Result<Vec<i64>> {
    let dtype = ds.dtype().clone();
    let base = match &dtype {
        Datatype::Enum { base, .. } => (**base).clone(),
        d => d.clone(),
    };
    let Datatype::FixedPoint { size, signed, .. } = base else {
        return Err(H5Error::InvalidData(format!(
            "expected integers, found {dtype:?}"
        )));
    };
    let bytes = ds.read_native_bytes()?;
    let size = size as usize;
    Ok(bytes
        .chunks_exact(size)
        .map(|b| {
            let mut w = [0u8; 8];
            w[..size].copy_from_slice(b);
            let raw = i64::from_ne_bytes(w);
            match (signed, size) {
                (true, s) if s < 8 => (raw << (64 - 8 * s)) >> (64 - 8 * s),
                _ => raw,
            }
        })
        .collect())
}

/// A numeric dataset as f32. (The decoder sizes what it allocates by the
/// bytes the file holds, so a damaged size is an error, not an abort.)
fn floats(ds: &Dataset) -> H5Result<Vec<f32>> {
    match ds.dtype() {
        Datatype::FloatingPoint { size: 4, .. } => {
            Ok(ds.read_array::<f32>()?.into_raw_vec_and_offset().0)
        }
        Datatype::FloatingPoint { size: 8, .. } => Ok(ds
            .read_array::<f64>()?
            .into_iter()
            .map(|x| x as f32)
            .collect()),
        _ => Ok(ints(ds)?.into_iter().map(|x| x as f32).collect()),
    }
}

/// A column's values as text: strings as they are, numbers in their
/// shortest form (45.0 is "45"), NaN missing, booleans "true"/"false".
fn column_text(ds: &Dataset) -> H5Result<Vec<Option<String>>> {
    match ds.dtype() {
        Datatype::String { .. } | Datatype::VarLen { .. } => {
            Ok(ds.read_strings()?.into_iter().map(Some).collect())
        }
        Datatype::FloatingPoint { .. } => Ok(floats64(ds)?
            .into_iter()
            .map(|v| (!v.is_nan()).then(|| format!("{v}")))
            .collect()),
        Datatype::Enum { members, .. } => {
            let names: Vec<(i64, String)> = members
                .iter()
                .map(|m| {
                    let mut w = [0u8; 8];
                    w[..m.value.len().min(8)].copy_from_slice(&m.value[..m.value.len().min(8)]);
                    (i64::from_le_bytes(w), m.name.to_ascii_lowercase())
                })
                .collect();
            Ok(ints(ds)?
                .into_iter()
                .map(|v| names.iter().find(|(k, _)| *k == v).map(|(_, n)| n.clone()))
                .collect())
        }
        _ => Ok(ints(ds)?.into_iter().map(|v| Some(v.to_string())).collect()),
    }
}

fn floats64(ds: &Dataset) -> H5Result<Vec<f64>> {
    match ds.dtype() {
        Datatype::FloatingPoint { size: 8, .. } => {
            Ok(ds.read_array::<f64>()?.into_raw_vec_and_offset().0)
        }
        _ => Ok(floats(ds)?.into_iter().map(f64::from).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// X[i, j] = i + j/10 in every fixture (see make_h5ad.py).
    fn expected(i: usize, j: usize) -> f32 {
        i as f32 + j as f32 / 10.0
    }

    fn column<'s>(s: &'s Sheet, name: &str) -> Vec<Option<&'s str>> {
        let c = s.columns.iter().position(|c| c == name).unwrap();
        s.cells.iter().map(|r| r[c].as_deref()).collect()
    }

    #[test]
    fn dense_x_obs_and_var_as_anndata_writes_them() {
        for f in ["dense.h5ad", "legacy_dense.h5ad"] {
            let (m, s) = read(&fixture(f), None).unwrap();
            assert_eq!(m.ids, ["s0", "s1", "s2", "s3", "s4", "s5"], "{f}");
            assert_eq!(m.features, ["cg0", "cg1", "cg2", "cg3"], "{f}");
            for i in 0..6 {
                for j in 0..4 {
                    assert_eq!(m.row(i)[j], expected(i, j), "{f} [{i},{j}]");
                }
            }
            assert_eq!(
                s.columns,
                ["age", "sex", "tissue", "smoker", "batch"],
                "{f}"
            );
            assert_eq!(
                column(&s, "age"),
                [
                    Some("23"),
                    Some("45"),
                    None,
                    Some("61"),
                    Some("38"),
                    Some("70")
                ]
            );
            assert_eq!(
                column(&s, "sex"),
                [Some("F"), Some("M"), Some("F"), None, Some("M"), Some("F")],
                "{f}"
            );
            assert_eq!(column(&s, "tissue")[2], Some("saliva"), "{f}");
            assert_eq!(
                column(&s, "smoker")[..2],
                [Some("true"), Some("false")],
                "{f}"
            );
            assert_eq!(column(&s, "batch")[5], Some("3"), "{f}");
        }
    }

    #[test]
    fn sparse_x_by_row_and_by_column() {
        for f in ["csr.h5ad", "csc.h5ad", "legacy_csr.h5ad"] {
            let (m, s) = read(&fixture(f), None).unwrap();
            for i in 0..6 {
                for j in 0..4 {
                    let want = if j == 1 { 0.0 } else { expected(i, j) };
                    assert!((m.row(i)[j] - want).abs() < 1e-6, "{f} [{i},{j}]");
                }
            }
            assert_eq!(column(&s, "sex")[3], None, "{f}");
        }
        let (_, s) = read(&fixture("csr.h5ad"), None).unwrap();
        assert_eq!(
            column(&s, "visits"),
            [Some("1"), None, Some("3"), Some("4"), None, Some("6")]
        );
        assert_eq!(column(&s, "donor")[1], None);
        let e = read(&fixture("bad_indices.h5ad"), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("X (sparse): index 9 at entry 3 is out of range for 4 columns"),
            "{e}"
        );
    }

    #[test]
    fn a_named_layer() {
        let (m, _) = read(&fixture("dense.h5ad"), Some("counts")).unwrap();
        assert_eq!(m.row(2), [20.0, 21.0, 22.0, 23.0]);
        let e = read(&fixture("dense.h5ad"), Some("spliced"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no layer \"spliced\"; the file's layers are counts"),
            "{e}"
        );
        assert_eq!(layers(&fixture("dense.h5ad")).unwrap(), ["counts"]);
        assert_eq!(
            label_columns(&fixture("csr.h5ad")).unwrap(),
            ["age", "sex", "tissue", "smoker", "batch", "visits", "donor"]
        );
    }

    #[test]
    fn only_a_plain_block_of_floats_is_read_as_raw_rows() {
        let raw = |f: &Path| {
            let h5 = H5::open(f).unwrap();
            let ds = h5.file.dataset("X").unwrap();
            h5.raw_values(&ds)
        };
        // anndata's gzip-compressed X is chunked and filtered: decoded.
        assert_eq!(raw(&fixture("dense.h5ad")), None);
        // A float32 X as anndata writes it by default: one plain block.
        let d = tempfile::tempdir().unwrap();
        let m = Matrix {
            ids: vec!["a".into(), "b".into()],
            features: vec!["x".into(), "y".into(), "z".into()],
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            source: "m".into(),
        };
        let s = Sheet {
            ids: m.ids.clone(),
            columns: vec![],
            cells: vec![vec![], vec![]],
            lines: vec![1, 2],
            source: "s".into(),
        };
        let p = d.path().join("plain.h5ad");
        crate::h5ad_write::write(&p, &m, &s).unwrap();
        let (offset, wide) = raw(&p).unwrap();
        assert!(!wide);
        let bytes = std::fs::read(&p).unwrap();
        let at = offset as usize;
        assert_eq!(bytes[at..at + 4], 1f32.to_le_bytes());
        assert_eq!(bytes[at + 20..at + 24], 6f32.to_le_bytes());
    }

    /// Damaged files give an error, never a panic: bytes flipped all over
    /// each fixture, from a fixed sequence.
    #[test]
    fn damaged_files_never_panic() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "dense.h5ad",
            "csr.h5ad",
            "csc.h5ad",
            "legacy_dense.h5ad",
            "legacy_csr.h5ad",
        ] {
            let clean = std::fs::read(fixture(f)).unwrap();
            for (round, bytes) in crate::damage::damaged_copies(&clean, 150, 0x9e37_79b9_7f4a_7c15)
            {
                let p = d.path().join("damaged.h5ad");
                std::fs::write(&p, &bytes).unwrap();
                let outcome = std::panic::catch_unwind(|| {
                    let _ = read(&p, None);
                    let _ = label_columns(&p);
                    let _ = dense_rows(&p, None);
                });
                assert!(outcome.is_ok(), "{f}, round {round}: the reader panicked");
            }
        }
    }

    #[test]
    fn truncated_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(fixture("dense.h5ad")).unwrap();
        for keep in [16, 800, bytes.len() / 2, bytes.len() - 100] {
            let p = d.path().join("cut.h5ad");
            std::fs::write(&p, &bytes[..keep]).unwrap();
            let e = read(&p, None).unwrap_err().to_string();
            assert!(e.contains("cut.h5ad"), "{keep}: {e}");
        }
    }
}
