//! Reading a feature file by the format its content shows, with the labels
//! the file itself carries (a GEO series matrix's characteristics, a PLINK
//! `.fam`'s sex and phenotype).

use std::path::Path;

use headsweep_spec::{DataConfig, Orientation};

use crate::error::DataError;
use crate::formats::{detect, Format};
use crate::matrix::Matrix;
use crate::sheet::Sheet;

/// How to read a feature file beyond what its format says.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// An .npy matrix's sample ids, one per line.
    pub ids: Option<&'a Path>,
    /// An .npy matrix's feature names, one per line.
    pub feature_names: Option<&'a Path>,
    /// A CSV/TSV matrix written a column per sample.
    pub orientation: Orientation,
    /// An AnnData layer to read instead of X.
    pub layer: Option<&'a str>,
}

impl<'a> ReadOptions<'a> {
    /// The options a sweep file's `[data]` section sets.
    pub fn of(config: &'a DataConfig) -> Self {
        ReadOptions {
            ids: config.ids.as_deref(),
            feature_names: config.feature_names.as_deref(),
            orientation: config.orientation,
            layer: config.layer.as_deref(),
        }
    }
}

/// The matrix at `path` as samples × features, and the labels the file
/// itself carries.
pub fn read_features(
    path: &Path,
    options: &ReadOptions,
) -> Result<(Matrix, Option<Sheet>), DataError> {
    let format = detect(path)?;
    if options.orientation == Orientation::FeaturesBySamples && format != Format::Delimited {
        return Err(DataError::file(
            path,
            "data.orientation = \"features_by_samples\" applies to CSV/TSV matrices; this file's layout is fixed by its format",
        ));
    }
    if options.layer.is_some() && format != Format::AnnData {
        return Err(DataError::file(
            path,
            "data.layer names a layer of an AnnData .h5ad file; this file has none",
        ));
    }
    if options.feature_names.is_some() && format != Format::Npy {
        return Err(DataError::file(
            path,
            "data.feature_names is for an .npy matrix; this file names its own features",
        ));
    }
    match format {
        Format::Npy => {
            let ids = options
                .ids
                .ok_or_else(|| DataError::file(path, "an .npy matrix needs an ids file"))?;
            Ok((Matrix::read_npy(path, ids, options.feature_names)?, None))
        }
        Format::GeoSeriesMatrix => {
            let (m, s) = crate::geo::read(path)?;
            Ok((m, Some(s)))
        }
        Format::PlinkBed => {
            let (m, s) = crate::plink::read(path)?;
            Ok((m, Some(s)))
        }
        Format::AnnData => {
            let (m, s) = crate::h5ad::read(path, options.layer)?;
            Ok((m, Some(s)))
        }
        Format::Parquet => Ok((crate::parquet::read(path)?, None)),
        Format::Delimited if options.orientation == Orientation::FeaturesBySamples => {
            Ok((Matrix::read_delimited(path)?.transposed()?, None))
        }
        Format::Delimited => Ok((Matrix::read_delimited(path)?, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_per_sample_is_read_as_a_row_per_sample() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.tsv");
        std::fs::write(
            &p,
            "probe\tS1\tS2\tS3\ncg1\t0.1\t0.2\t0.3\ncg2\t0.4\tNA\t0.6\n",
        )
        .unwrap();
        let by_column = ReadOptions {
            orientation: Orientation::FeaturesBySamples,
            ..ReadOptions::default()
        };
        let (m, _) = read_features(&p, &by_column).unwrap();
        assert_eq!(m.ids, ["S1", "S2", "S3"]);
        assert_eq!(m.features, ["cg1", "cg2"]);
        assert_eq!(m.row(0), [0.1, 0.4]);
        assert!(m.row(1)[1].is_nan());
        std::fs::write(&p, "probe\tS1\tS1\ncg1\t0.1\t0.2\n").unwrap();
        let e = read_features(&p, &by_column).unwrap_err().to_string();
        assert!(e.contains("duplicate"), "{e}");
    }
}
