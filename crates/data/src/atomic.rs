//! Files written whole or not at all.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::DataError;

/// Writes through a temporary file (named for this process, so that two
/// processes writing the same file do not meet) renamed into place, so
/// that a failure never leaves a half-written file under the final name.
pub(crate) fn write_file(
    path: &Path,
    gzip: bool,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), DataError> {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy());
    let tmp = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let result = (|| {
        let file = BufWriter::new(File::create(&tmp)?);
        if gzip {
            let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::new(6));
            body(&mut gz)?;
            gz.finish()?
                .into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()?;
        } else {
            let mut file = file;
            body(&mut file)?;
            file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        DataError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}
