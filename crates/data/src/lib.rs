//! Loading feature matrices and sample sheets, generating synthetic genomic
//! data, splitting samples and scaling features.
//!
//! This crate knows nothing about torch or SQL: it hands the model crate a
//! dense, standardised `f32` matrix with per-task class labels and a split.

mod atomic;
mod cache;
mod check;
#[cfg(test)]
mod damage;
mod dataset;
mod error;
mod formats;
mod geo;
mod h5ad;
mod h5ad_write;
mod inspect;
mod labels;
mod load;
mod matrix;
mod parquet;
mod plink;
mod rows;
mod select;
mod sheet;
mod source;
mod split;
mod stream;
pub mod synth;
mod text;
mod truth;
mod values;

pub use cache::{cacheable, keep as keep_cached, key as cache_key, load_cached};
pub use check::{check_headers, content_hash};
pub use dataset::{Dataset, Scaler};
pub use error::DataError;
pub use formats::{detect, Format, SUPPORTED};
pub use inspect::{inspect, Inspection, LabelColumn};
pub use labels::TaskLabels;
pub use load::load;
pub use matrix::Matrix;
pub use sheet::Sheet;
pub use source::{read_features, ReadOptions};
pub use split::Part;
pub use truth::{read_truth, KnownFeature};
pub use values::Values;
