//! PLINK 1 binary genotypes: `PREFIX.bed` with `PREFIX.bim` (one line per
//! SNP: chromosome, id, cM, position, A1, A2) and `PREFIX.fam` (one line per
//! sample: family, individual, father, mother, sex, phenotype). Each value
//! is the number of A1 alleles — 0, 1 or 2 — or missing; SNP ids are the
//! feature names, individual ids the sample ids, and the `.fam`'s sex and
//! phenotype are label columns, so no sample sheet is needed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::DataError;
use crate::matrix::Matrix;
use crate::sheet::Sheet;

/// The first bytes of a `.bed`: the magic number, then 0x01 for SNP-major.
pub const MAGIC: [u8; 2] = [0x6c, 0x1b];
const SNP_MAJOR: u8 = 0x01;

/// The `.bim` and `.fam` beside a `.bed`.
pub fn sidecars(bed: &Path) -> (PathBuf, PathBuf) {
    (bed.with_extension("bim"), bed.with_extension("fam"))
}

/// Whitespace-separated fields of each non-empty line, with line numbers.
fn table(path: &Path, width: usize) -> Result<Vec<(u64, Vec<String>)>, DataError> {
    let file = std::fs::File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if f.len() < width {
            return Err(DataError::at(
                path,
                i as u64 + 1,
                format!("{} fields, a line needs {width}", f.len()),
            ));
        }
        out.push((i as u64 + 1, f));
    }
    Ok(out)
}

/// The `.fam`'s labels: `fid`, `sex` (1 → M, 2 → F, else missing) and
/// `phenotype` (0 and -9 missing, else as written).
fn fam_sheet(path: &Path, fam: &[(u64, Vec<String>)]) -> Sheet {
    Sheet {
        ids: fam.iter().map(|(_, f)| f[1].clone()).collect(),
        columns: vec!["fid".into(), "sex".into(), "phenotype".into()],
        cells: fam
            .iter()
            .map(|(_, f)| {
                let sex = match f[4].as_str() {
                    "1" => Some("M".to_string()),
                    "2" => Some("F".to_string()),
                    _ => None,
                };
                let pheno = (!matches!(f[5].as_str(), "0" | "-9" | "NA")).then(|| f[5].clone());
                vec![Some(f[0].clone()), sex, pheno]
            })
            .collect(),
        lines: fam.iter().map(|(l, _)| *l).collect(),
        source: path.to_path_buf(),
    }
}

/// The label columns a `.fam` gives.
pub const LABEL_COLUMNS: [&str; 3] = ["fid", "sex", "phenotype"];

/// Reads `bed` with its `.bim` and `.fam`: samples × SNPs of A1 counts,
/// and the `.fam`'s labels.
pub fn read(bed: &Path) -> Result<(Matrix, Sheet), DataError> {
    let (bim_path, fam_path) = sidecars(bed);
    let bim = table(&bim_path, 6)?;
    let fam = table(&fam_path, 6)?;
    let (n, p) = (fam.len(), bim.len());
    if n == 0 || p == 0 {
        return Err(DataError::file(
            bed,
            format!(
                "{} samples in {} and {} SNPs in {}: both must be non-empty",
                n,
                fam_path.display(),
                p,
                bim_path.display()
            ),
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(bed)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|source| DataError::Io {
            path: bed.to_path_buf(),
            source,
        })?;
    if bytes.len() < 3 || bytes[..2] != MAGIC {
        return Err(DataError::file(
            bed,
            format!(
                "not a PLINK .bed: it starts {:02x?}, a .bed starts 6c 1b 01",
                &bytes[..bytes.len().min(3)]
            ),
        ));
    }
    if bytes[2] != SNP_MAJOR {
        return Err(DataError::file(
            bed,
            "an individual-major .bed (mode byte 0x00), which is not read; `plink --bfile PREFIX --make-bed` rewrites it SNP-major",
        ));
    }
    let per_snp = n.div_ceil(4);
    let want = 3 + p * per_snp;
    if bytes.len() != want {
        return Err(DataError::file(
            bed,
            format!(
                "{} bytes, but {n} samples ({}) × {p} SNPs ({}) need {want}: the file is cut short or the .bim/.fam belong to another data set",
                bytes.len(),
                fam_path.display(),
                bim_path.display()
            ),
        ));
    }
    let mut values = vec![0f32; n * p];
    for j in 0..p {
        let block = &bytes[3 + j * per_snp..3 + (j + 1) * per_snp];
        for i in 0..n {
            let code = (block[i / 4] >> (2 * (i % 4))) & 0b11;
            values[i * p + j] = match code {
                0b00 => 2.0,
                0b10 => 1.0,
                0b11 => 0.0,
                _ => f32::NAN,
            };
        }
    }
    let matrix = Matrix {
        ids: fam.iter().map(|(_, f)| f[1].clone()).collect(),
        features: bim.iter().map(|(_, f)| f[1].clone()).collect(),
        values,
        source: bed.to_path_buf(),
    };
    matrix.check_unique_ids(|i| fam[i].0)?;
    Ok((matrix, fam_sheet(&fam_path, &fam)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 5 samples × 2 SNPs. Codes per sample (low bits first): SNP a =
    /// 00 10 11 01 | 00 → 2, 1, 0, missing | 2; SNP b = 11 11 10 00 | 01.
    fn write(dir: &Path, bed: &[u8]) -> PathBuf {
        let p = dir.join("g.bed");
        std::fs::write(&p, bed).unwrap();
        std::fs::write(
            dir.join("g.bim"),
            "1\trs_a\t0\t100\tA\tG\n1\trs_b\t0\t200\tC\tT\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("g.fam"),
            "f1 s1 0 0 1 2\nf2 s2 0 0 2 1\nf3 s3 0 0 0 -9\nf4 s4 0 0 1 0\nf5 s5 0 0 2 2\n",
        )
        .unwrap();
        p
    }

    const BED: [u8; 7] = [
        0x6c,
        0x1b,
        0x01,
        0b0111_1000,
        0b0000_0000,
        0b0010_1111,
        0b0000_0001,
    ];

    #[test]
    fn genotypes_as_a1_counts_and_fam_labels() {
        let d = tempfile::tempdir().unwrap();
        let (m, s) = read(&write(d.path(), &BED)).unwrap();
        assert_eq!(m.features, ["rs_a", "rs_b"]);
        assert_eq!(m.ids, ["s1", "s2", "s3", "s4", "s5"]);
        let a: Vec<f32> = (0..5).map(|i| m.row(i)[0]).collect();
        assert_eq!(&a[..3], [2.0, 1.0, 0.0]);
        assert!(a[3].is_nan());
        assert_eq!(a[4], 2.0);
        let b: Vec<f32> = (0..5).map(|i| m.row(i)[1]).collect();
        assert_eq!(&b[..4], [0.0, 0.0, 1.0, 2.0]);
        assert!(b[4].is_nan());
        assert_eq!(s.columns, LABEL_COLUMNS);
        assert_eq!(
            s.cells[0],
            [Some("f1".into()), Some("M".into()), Some("2".into())]
        );
        assert_eq!(
            s.cells[2][1..],
            [None, None],
            "sex 0 and phenotype -9 are missing"
        );
    }

    #[test]
    fn wrong_magic_mode_or_size_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let mut bad = BED;
        bad[0] = b'#';
        let e = read(&write(d.path(), &bad)).unwrap_err().to_string();
        assert!(
            e.contains("g.bed: not a PLINK .bed: it starts [23, 1b, 01]"),
            "{e}"
        );
        let mut individual = BED;
        individual[2] = 0;
        assert!(read(&write(d.path(), &individual))
            .unwrap_err()
            .to_string()
            .contains("individual-major"));
        let e = read(&write(d.path(), &BED[..6])).unwrap_err().to_string();
        assert!(e.contains("6 bytes, but 5 samples"), "{e}");
        std::fs::write(d.path().join("g.bed"), BED).unwrap();
        std::fs::write(d.path().join("g.fam"), "f1 s1 0 0 1\n").unwrap();
        let e = read(&d.path().join("g.bed")).unwrap_err().to_string();
        assert!(e.contains("g.fam:1: 5 fields, a line needs 6"), "{e}");
    }
}
