//! What a data file is, from its first bytes (after gzip) and its name, so
//! that a file headsweep cannot read gets an error naming what was found
//! and what is supported — not a parser's complaint about UTF-8.

use std::io::Read;
use std::path::Path;

use crate::error::DataError;
use crate::text::open;

/// A feature file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV or TSV, optionally gzipped: a header row, the first column the
    /// sample id.
    Delimited,
    /// NumPy `.npy`, with its ids in a file of their own.
    Npy,
    /// A GEO series matrix (`*_series_matrix.txt(.gz)`): metadata lines,
    /// then a features × samples table between its markers.
    GeoSeriesMatrix,
    /// PLINK 1 binary genotypes: `.bed` with its `.bim` and `.fam`.
    PlinkBed,
    /// AnnData `.h5ad` (HDF5): X or a layer, with `obs` as labels.
    AnnData,
    /// A Parquet table: an id column and numeric feature columns.
    Parquet,
}

/// What headsweep reads, for error messages.
pub const SUPPORTED: &str = "CSV/TSV matrices (optionally .gz; first column the sample id), NumPy .npy with data.ids, GEO series matrices (*_series_matrix.txt.gz), PLINK .bed/.bim/.fam, AnnData .h5ad and Parquet tables";

/// Formats recognised but not read, with what to do instead.
fn unsupported(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive (an .npz or .xlsx?); unpack it or save the matrix as TSV")
    } else {
        None
    }
}

/// The format of the feature file at `path`.
pub fn detect(path: &Path) -> Result<Format, DataError> {
    let mut head = Vec::with_capacity(4096);
    open(path)?
        .take(4096)
        .read_to_end(&mut head)
        .map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if let Some(what) = unsupported(&head) {
        return Err(DataError::file(
            path,
            format!("this is {what}. Supported: {SUPPORTED}"),
        ));
    }
    if head.starts_with(b"\x89HDF\r\n\x1a\n") {
        return Ok(Format::AnnData);
    }
    if head.starts_with(b"PAR1") {
        return Ok(Format::Parquet);
    }
    if head.starts_with(b"\x93NUMPY") {
        return Ok(Format::Npy);
    }
    if head.starts_with(&crate::plink::MAGIC) {
        return Ok(Format::PlinkBed);
    }
    if path.extension().is_some_and(|e| e == "bed") {
        // A PLINK name without PLINK's magic number (a BED interval file?).
        return Err(DataError::file(
            path,
            format!(
                "not a PLINK .bed: it starts {:02x?}, a .bed starts 6c 1b 01. Supported: {SUPPORTED}",
                &head[..head.len().min(3)]
            ),
        ));
    }
    if head.starts_with(b"!Series_") || head.starts_with(b"!Sample_") {
        return Ok(Format::GeoSeriesMatrix);
    }
    // Text: valid UTF-8 up to a possibly cut last character, and no NUL.
    let text_len = match std::str::from_utf8(&head) {
        Ok(_) => head.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => 0,
    };
    if head.is_empty() || (text_len + 4 >= head.len() && !head.contains(&0)) {
        return Ok(Format::Delimited);
    }
    Err(DataError::file(
        path,
        format!("this is a binary file of no format headsweep knows. Supported: {SUPPORTED}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect_bytes(name: &str, bytes: &[u8]) -> Result<Format, String> {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        detect(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn formats_by_their_first_bytes() {
        assert_eq!(
            detect_bytes("x.tsv", b"id\ta\ns1\t1\n"),
            Ok(Format::Delimited)
        );
        assert_eq!(detect_bytes("x.npy", b"\x93NUMPY\x01\x00"), Ok(Format::Npy));
        assert_eq!(
            detect_bytes("GSE1_series_matrix.txt", b"!Series_title\t\"x\"\n"),
            Ok(Format::GeoSeriesMatrix)
        );
        assert_eq!(
            detect_bytes("x.h5ad", b"\x89HDF\r\n\x1a\n\0\0\0"),
            Ok(Format::AnnData)
        );
        let e = detect_bytes("x.npz", b"PK\x03\x04\0\0").unwrap_err();
        assert!(e.contains("x.npz: this is a ZIP archive"), "{e}");
        assert!(e.contains("Supported: CSV/TSV"), "{e}");
        assert_eq!(
            detect_bytes("x.parquet", b"PAR1\x15\x04"),
            Ok(Format::Parquet)
        );
        assert_eq!(
            detect_bytes("x.bed", &[0x6c, 0x1b, 0x01, 0xff]),
            Ok(Format::PlinkBed)
        );
        let e = detect_bytes("x.bed", b"chr1\t100\t200\n").unwrap_err();
        assert!(
            e.contains("not a PLINK .bed: it starts [63, 68, 72]"),
            "{e}"
        );
        let e = detect_bytes("x.bin", &[0, 159, 146, 150, 0, 1, 2, 3]).unwrap_err();
        assert!(
            e.contains("binary file of no format headsweep knows"),
            "{e}"
        );
    }

    #[test]
    fn gzip_is_looked_through() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("GSE2_series_matrix.txt.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&p).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"!Series_title\t\"y\"\n").unwrap();
        gz.finish().unwrap();
        assert_eq!(detect(&p).unwrap(), Format::GeoSeriesMatrix);
    }
}
