//! Reading text data files: opening through gzip, which cells are missing,
//! delimiters and ragged rows — shared by every reader.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::DataError;

/// Cells read as missing. Anything else must parse as a finite number.
pub(crate) fn is_missing(cell: &str) -> bool {
    matches!(cell.trim(), "" | "NA" | "NaN" | "nan" | "NAN" | "na")
}

/// Opens `path`, decompressing when its name ends in `.gz`.
pub(crate) fn open(path: &Path) -> Result<Box<dyn Read>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = BufReader::with_capacity(1 << 20, file);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// The file line of `record`, after checking that it has as many fields as
/// the header.
pub(crate) fn checked_line(
    path: &Path,
    record: &csv::StringRecord,
    header: &csv::StringRecord,
) -> Result<u64, DataError> {
    let line = record.position().map_or(0, |p| p.line());
    if record.len() != header.len() {
        return Err(DataError::at(
            path,
            line,
            format!(
                "ragged row: {} fields, the header has {}",
                record.len(),
                header.len()
            ),
        ));
    }
    Ok(line)
}

/// Tab for `.tsv`/`.txt` (also under `.gz`), comma otherwise.
pub(crate) fn delimiter(path: &Path) -> u8 {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let name = name.strip_suffix(".gz").unwrap_or(name);
    if name.ends_with(".tsv") || name.ends_with(".txt") {
        b'\t'
    } else {
        b','
    }
}
