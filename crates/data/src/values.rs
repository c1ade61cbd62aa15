//! A data set's values, owned or mapped in place.

use std::sync::Arc;

/// Values start at a multiple of this in a cache file, so that they can be
/// read in place.
pub(crate) const ALIGN: usize = 64;

/// A data set's standardised values: owned, or read in place from a cache
/// file mapped into memory (shared between the processes that map it).
#[derive(Clone)]
pub enum Values {
    Owned(Vec<f32>),
    Mapped {
        map: Arc<memmap2::Mmap>,
        offset: usize,
        len: usize,
    },
}

impl std::ops::Deref for Values {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        match self {
            Values::Owned(v) => v,
            Values::Mapped { map, offset, len } => {
                let bytes = &map[*offset..*offset + *len * 4];
                // SAFETY: the offset is a multiple of ALIGN from a
                // page-aligned mapping, the length was checked against the
                // file when it was mapped, every bit pattern is an f32, and
                // the file is little-endian (checked when mapped).
                unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), *len) }
            }
        }
    }
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Values::Owned(_) => "owned",
            Values::Mapped { .. } => "mapped",
        };
        write!(f, "Values({kind}, {} values)", self.len())
    }
}

impl From<Vec<f32>> for Values {
    fn from(v: Vec<f32>) -> Self {
        Values::Owned(v)
    }
}
