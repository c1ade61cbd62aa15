//! Reading a feature file by the format its content shows, with the labels
//! the file itself carries (a GEO series matrix's characteristics, a PLINK
//! `.fam`'s sex and phenotype).

use std::path::Path;

use headsweep_spec::Orientation;

use crate::error::DataError;
use crate::formats::{detect, Format};
use crate::matrix::Matrix;
use crate::sheet::Sheet;

/// The matrix at `path` (with `ids` for an .npy one), and its own labels.
pub fn read_features(
    path: &Path,
    ids: Option<&Path>,
) -> Result<(Matrix, Option<Sheet>), DataError> {
    read_oriented(path, ids, Orientation::SamplesByFeatures)
}

/// [`read_features`], with a CSV/TSV matrix turned to samples × features
/// when `orientation` says each column is a sample.
pub fn read_oriented(
    path: &Path,
    ids: Option<&Path>,
    orientation: Orientation,
) -> Result<(Matrix, Option<Sheet>), DataError> {
    let format = detect(path)?;
    if orientation == Orientation::FeaturesBySamples {
        if format != Format::Delimited {
            return Err(DataError::file(
                path,
                "data.orientation = \"features_by_samples\" applies to CSV/TSV matrices; this file's layout is fixed by its format",
            ));
        }
        return Ok((Matrix::read_delimited(path)?.transposed()?, None));
    }
    match format {
        Format::Npy => {
            let ids =
                ids.ok_or_else(|| DataError::file(path, "an .npy matrix needs an ids file"))?;
            Ok((Matrix::read_npy(path, ids)?, None))
        }
        Format::GeoSeriesMatrix => {
            let (m, s) = crate::geo::read(path)?;
            Ok((m, Some(s)))
        }
        Format::PlinkBed => {
            let (m, s) = crate::plink::read(path)?;
            Ok((m, Some(s)))
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
        let (m, _) = read_oriented(&p, None, Orientation::FeaturesBySamples).unwrap();
        assert_eq!(m.ids, ["S1", "S2", "S3"]);
        assert_eq!(m.features, ["cg1", "cg2"]);
        assert_eq!(m.row(0), [0.1, 0.4]);
        assert!(m.row(1)[1].is_nan());
        std::fs::write(&p, "probe\tS1\tS1\ncg1\t0.1\t0.2\n").unwrap();
        let e = read_oriented(&p, None, Orientation::FeaturesBySamples)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate"), "{e}");
    }
}
