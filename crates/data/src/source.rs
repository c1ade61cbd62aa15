//! Reading a feature file by the format its content shows, with the labels
//! the file itself carries (a GEO series matrix's characteristics, a PLINK
//! `.fam`'s sex and phenotype).

use std::path::Path;

use crate::error::DataError;
use crate::formats::{detect, Format};
use crate::matrix::Matrix;
use crate::sheet::Sheet;

/// The matrix at `path` (with `ids` for an .npy one), and its own labels.
pub fn read_features(
    path: &Path,
    ids: Option<&Path>,
) -> Result<(Matrix, Option<Sheet>), DataError> {
    match detect(path)? {
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
