//! Matrices read a row at a time (see `stream`): the interface, and the
//! reader for values stored as one little-endian row-major block — a
//! `.npy`, or an AnnData X kept contiguous and unfiltered.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::DataError;
use crate::matrix::{Matrix, NpyLayout};

/// Bytes of source rows read at once.
pub(crate) const BLOCK_BYTES: usize = 16 << 20;

/// What is done with each row: its index and values.
pub(crate) type RowFn<'a> = dyn FnMut(usize, &[f32]) -> Result<(), DataError> + 'a;

/// A row source of any format.
pub(crate) type Rows = Box<dyn RowSource>;

/// A matrix read a row at a time.
pub(crate) trait RowSource {
    /// Its sample ids, feature names and file, as a matrix without values.
    fn axes(&self) -> &Matrix;
    fn ids(&self) -> &[String] {
        &self.axes().ids
    }
    fn features(&self) -> &[String] {
        &self.axes().features
    }
    fn source(&self) -> &Path {
        &self.axes().source
    }
    /// Calls `f` with every row, in order.
    fn each_row(&mut self, f: &mut RowFn) -> Result<(), DataError>;
}

/// Rows of little-endian float32 or float64 values, one after another from
/// a byte offset of the file `axes.source`.
pub(crate) struct RawRows {
    pub(crate) axes: Matrix,
    pub(crate) offset: u64,
    /// float64, read as f32.
    pub(crate) wide: bool,
}

impl RawRows {
    /// A 2-D float32/float64 C-ordered `.npy` with its ids (and names).
    pub(crate) fn npy(
        path: &Path,
        ids_path: &Path,
        names: Option<&Path>,
    ) -> Result<Self, DataError> {
        let mut head = Vec::new();
        File::open(path)
            .and_then(|f| f.take(1 << 16).read_to_end(&mut head))
            .map_err(|source| DataError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let layout = NpyLayout::read(path, &head)?;
        Ok(RawRows {
            axes: layout.axes(path, ids_path, names)?,
            offset: layout.offset,
            wide: layout.wide,
        })
    }
}

impl RowSource for RawRows {
    fn axes(&self) -> &Matrix {
        &self.axes
    }
    fn each_row(&mut self, f: &mut RowFn) -> Result<(), DataError> {
        let path = &self.axes.source;
        let io = |source| DataError::Io {
            path: path.clone(),
            source,
        };
        let p = self.axes.cols();
        let mut file = File::open(path).map_err(io)?;
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut reader = BufReader::with_capacity(BLOCK_BYTES, file);
        let mut bytes = vec![0u8; if self.wide { p * 8 } else { 0 }];
        let mut row = vec![0f32; p];
        for r in 0..self.axes.rows() {
            if self.wide {
                reader.read_exact(&mut bytes).map_err(io)?;
                for (o, b) in row.iter_mut().zip(bytes.chunks_exact(8)) {
                    *o = f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32;
                }
            } else {
                // Little-endian f32 read straight into the row.
                // SAFETY: any 4 bytes are a valid f32, the view covers the
                // row's own bytes, and the target is little-endian (below).
                let view =
                    unsafe { std::slice::from_raw_parts_mut(row.as_mut_ptr().cast::<u8>(), p * 4) };
                reader.read_exact(view).map_err(io)?;
                if cfg!(target_endian = "big") {
                    for v in &mut row {
                        *v = f32::from_bits(v.to_bits().swap_bytes());
                    }
                }
            }
            if let Some(j) = row.iter().position(|v| v.is_infinite()) {
                return Err(self.axes.infinite_at(r, j));
            }
            f(r, &row)?;
        }
        Ok(())
    }
}
