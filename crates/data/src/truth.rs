//! A researcher's own list of known features, to score an attribution
//! ranking against: one feature per line, or `feature,head` (comma or tab)
//! to say which head each one informs. `#` starts a comment.

use std::path::Path;

use crate::error::DataError;

/// One known feature, and the head it informs (any head when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownFeature {
    pub feature: String,
    pub head: Option<String>,
}

/// Reads a list of known features.
pub fn read_truth(path: &Path) -> Result<Vec<KnownFeature>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split([',', '\t']).map(str::trim).collect();
        let known = match fields.as_slice() {
            [f] => KnownFeature {
                feature: (*f).to_string(),
                head: None,
            },
            [f, h] if !f.is_empty() && !h.is_empty() => KnownFeature {
                feature: (*f).to_string(),
                head: Some((*h).to_string()),
            },
            _ => {
                return Err(DataError::at(
                    path,
                    i as u64 + 1,
                    format!("{line:?}: expected a feature name, or feature,head"),
                ))
            }
        };
        out.push(known);
    }
    if out.is_empty() {
        return Err(DataError::file(path, "lists no feature"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_two_columns_with_comments() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("known.txt");
        std::fs::write(&p, "# Horvath clock CpGs\ncg1\ncg2,age\ncg3\tsex\n\n").unwrap();
        let k = read_truth(&p).unwrap();
        assert_eq!(k.len(), 3);
        assert_eq!(k[0].head, None);
        assert_eq!(k[1].head.as_deref(), Some("age"));
        assert_eq!(k[2].head.as_deref(), Some("sex"));
        std::fs::write(&p, "cg1\ncg2,age,extra\n").unwrap();
        let e = read_truth(&p).unwrap_err().to_string();
        assert!(
            e.contains("known.txt:2: \"cg2,age,extra\": expected a feature name, or feature,head"),
            "{e}"
        );
        std::fs::write(&p, "# nothing\n").unwrap();
        assert!(read_truth(&p)
            .unwrap_err()
            .to_string()
            .contains("lists no feature"));
    }
}
