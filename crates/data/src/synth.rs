//! Synthetic genomic data with a known ground truth.
//!
//! `methylation` imitates array beta values: most CpGs near 0 or 1, spread
//! `∝ μ(1−μ)` (a Beta draw around a logit-scale mean), a few percent of CpGs
//! tracking age through Horvath's transform (some rising, some falling),
//! X-like CpGs (≈0.5 in females, low in males) and a few Y-like ones,
//! correlated blocks from latent factors, batch offsets and missing values.
//! `genotypes` writes SNP dosages 0/1/2 with hemizygous X-like markers in
//! males and no age signal at all: a negative control for the age head.
//!
//! Every draw comes from one ChaCha8 stream seeded with the data seed, in a
//! fixed order, so the same seed gives byte-identical files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use headsweep_spec::Preset;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Normal};

use crate::atomic::write_file;
use crate::error::DataError;
use crate::matrix::Matrix;
use crate::sheet::Sheet;

/// Oldest age generated; ages lie in `[0, MAX_AGE]`.
pub const MAX_AGE: f64 = 90.0;
/// Width of the age bands that are guaranteed to be populated.
pub const AGE_BAND: f64 = 5.0;
/// Fraction of cells left missing.
pub const MISSING: f64 = 0.02;
const BATCHES: usize = 4;
const FACTORS: usize = 6;
/// Beta precision φ: variance μ(1−μ)/(φ+1).
const PRECISION: f64 = 30.0;

/// What a feature carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    AgeUp,
    AgeDown,
    XLinked,
    YLinked,
    None,
}

impl Signal {
    /// The label the feature informs: "age", "sex" or "none".
    pub fn target(self) -> &'static str {
        match self {
            Signal::AgeUp | Signal::AgeDown => "age",
            Signal::XLinked | Signal::YLinked => "sex",
            Signal::None => "none",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Signal::AgeUp => "age_up",
            Signal::AgeDown => "age_down",
            Signal::XLinked => "x_linked",
            Signal::YLinked => "y_linked",
            Signal::None => "background",
        }
    }
}

/// A generated data set and its ground truth.
#[derive(Debug, Clone)]
pub struct Generated {
    pub matrix: Matrix,
    pub sheet: Sheet,
    /// One entry per feature, in matrix column order.
    pub truth: Vec<Signal>,
}

/// Horvath's (2013) age transform: logarithmic before adulthood (20 years),
/// linear after, continuous with a continuous slope at 20.
pub fn horvath(age: f64) -> f64 {
    const ADULT: f64 = 20.0;
    if age <= ADULT {
        (age + 1.0).ln() - (ADULT + 1.0).ln()
    } else {
        (age - ADULT) / (ADULT + 1.0)
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Settings of the generator beyond its size: how strong the sex signal
/// is and how the ages are spread. The defaults are the generator as it
/// always was, draw for draw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tuning {
    /// Multiplies the male shift of X- and Y-linked features.
    pub sex_effect: f64,
    /// Beta shape of the ages beyond the guaranteed few per band.
    pub age_shape: [f64; 2],
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            sex_effect: headsweep_spec::DEFAULT_SEX_EFFECT,
            age_shape: headsweep_spec::DEFAULT_AGE_SHAPE,
        }
    }
}

/// Ages: a few per 5-year band first, so every band is populated even in
/// small sets, the rest from Beta(a, b)·90 — by default Beta(2, 3.5), right
/// skewed with median ≈ 30.
fn ages(rng: &mut ChaCha8Rng, n: usize, shape: [f64; 2]) -> Vec<f64> {
    let bands = (MAX_AGE / AGE_BAND) as usize;
    let per_band = (n / (bands * 6)).clamp(1, 4);
    let skewed = Beta::new(shape[0], shape[1]).expect("validated shape");
    let mut out = Vec::with_capacity(n);
    for b in 0..bands {
        for _ in 0..per_band {
            if out.len() < n {
                out.push(b as f64 * AGE_BAND + rng.gen::<f64>() * AGE_BAND);
            }
        }
    }
    while out.len() < n {
        out.push(skewed.sample(rng) * MAX_AGE);
    }
    // One decimal, as a sample sheet would hold it.
    out.iter_mut()
        .for_each(|a| *a = ((*a * 10.0).round() / 10.0).min(MAX_AGE));
    out.shuffle(rng);
    out
}

/// Feature roles: ≈5% age (half rising), ≈3% X-like, ≈0.5% Y-like.
fn roles(rng: &mut ChaCha8Rng, p: usize, with_age: bool) -> Vec<Signal> {
    let n_age = if with_age { (p / 20).max(10) } else { 0 };
    let n_x = (p * 3 / 100).max(6);
    let n_y = if with_age { (p / 200).max(2) } else { 0 };
    let mut roles = vec![Signal::None; p];
    let mut order: Vec<usize> = (0..p).collect();
    order.shuffle(rng);
    let mut it = order.into_iter();
    for k in 0..n_age {
        roles[it.next().expect("p ≥ 20")] = if k % 2 == 0 {
            Signal::AgeUp
        } else {
            Signal::AgeDown
        };
    }
    for (count, sig) in [(n_x, Signal::XLinked), (n_y, Signal::YLinked)] {
        for _ in 0..count {
            roles[it.next().expect("p ≥ 20")] = sig;
        }
    }
    roles
}

/// Generates `samples × features` of `preset` from `seed`.
pub fn generate(preset: Preset, samples: usize, features: usize, seed: u64) -> Generated {
    generate_tuned(preset, samples, features, seed, Tuning::default())
}

/// [`generate`] with the sex signal's strength and the age spread set.
pub fn generate_tuned(
    preset: Preset,
    samples: usize,
    features: usize,
    seed: u64,
    tuning: Tuning,
) -> Generated {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let age = ages(&mut rng, samples, tuning.age_shape);
    let male: Vec<bool> = (0..samples).map(|_| rng.gen_bool(0.5)).collect();
    let batch: Vec<usize> = (0..samples).map(|_| rng.gen_range(0..BATCHES)).collect();
    let truth = roles(&mut rng, features, preset == Preset::Methylation);
    let values = match preset {
        Preset::Methylation => {
            methylation(&mut rng, (&age, &male, &batch), &truth, tuning.sex_effect)
        }
        Preset::Genotypes => genotypes(&mut rng, &male, &truth),
    };
    let width = samples.to_string().len().max(4);
    let ids: Vec<String> = (0..samples)
        .map(|i| format!("S{:0width$}", i + 1))
        .collect();
    let prefix = if preset == Preset::Methylation {
        "cg"
    } else {
        "rs"
    };
    let feature_names = (0..features)
        .map(|j| format!("{prefix}{:08}", j + 1))
        .collect();
    let sheet = Sheet {
        ids: ids.clone(),
        columns: vec!["age".into(), "sex".into(), "batch".into()],
        cells: (0..samples)
            .map(|i| {
                vec![
                    Some(format!("{:.1}", age[i])),
                    Some(if male[i] { "M" } else { "F" }.to_string()),
                    Some(format!("b{}", batch[i] + 1)),
                ]
            })
            .collect(),
        lines: (2..2 + samples as u64).collect(),
        source: PathBuf::from(format!("<synthetic {preset:?} seed {seed}>").to_lowercase()),
    };
    let matrix = Matrix {
        ids,
        features: feature_names,
        values,
        source: sheet.source.clone(),
    };
    Generated {
        matrix,
        sheet,
        truth,
    }
}

/// Beta values quantised to 4 decimals, exactly as written and read back.
fn methylation(
    rng: &mut ChaCha8Rng,
    samples: (&[f64], &[bool], &[usize]),
    roles: &[Signal],
    sex_effect: f64,
) -> Vec<f32> {
    let (age, male, batch) = samples;
    let p = roles.len();
    let std = |sd: f64| Normal::new(0.0, sd).expect("positive sd");
    // Per-feature parameters.
    let mut base = Vec::with_capacity(p);
    let mut effect = Vec::with_capacity(p);
    let mut loading = Vec::with_capacity(p);
    for role in roles {
        let (b, e) = match role {
            Signal::AgeUp => (std(0.8).sample(rng), rng.gen_range(0.5..0.9)),
            Signal::AgeDown => (std(0.8).sample(rng), -rng.gen_range(0.5..0.9)),
            // Female mean near 0 (β ≈ 0.5); male shift down to ≈ −2.5.
            Signal::XLinked => (std(0.2).sample(rng), -2.5),
            // Female near β ≈ 0.02; male up to ≈ 0.8.
            Signal::YLinked => (-4.0 + std(0.3).sample(rng), 5.5),
            Signal::None => {
                let u: f64 = rng.gen();
                let centre = if u < 0.45 {
                    -2.8
                } else if u < 0.9 {
                    2.8
                } else {
                    0.0
                };
                (centre + std(0.6).sample(rng), 0.0)
            }
        };
        base.push(b);
        effect.push(e);
        loading.push(if rng.gen_bool(0.6) {
            rng.gen_range(0.2..0.6)
        } else {
            0.0
        });
    }
    let batch_offset: Vec<f64> = (0..BATCHES * p).map(|_| std(0.15).sample(rng)).collect();
    let mut out = Vec::with_capacity(age.len() * p);
    for i in 0..age.len() {
        let factors: Vec<f64> = (0..FACTORS).map(|_| std(1.0).sample(rng)).collect();
        let f_age = horvath(age[i]);
        for j in 0..p {
            let signal = match roles[j] {
                Signal::AgeUp | Signal::AgeDown => effect[j] * f_age,
                Signal::XLinked | Signal::YLinked => {
                    sex_effect * effect[j] * f64::from(u8::from(male[i]))
                }
                Signal::None => 0.0,
            };
            let logit = base[j]
                + signal
                + loading[j] * factors[j % FACTORS]
                + batch_offset[batch[i] * p + j];
            let mu = sigmoid(logit).clamp(1e-3, 1.0 - 1e-3);
            let beta = Beta::new(mu * PRECISION, (1.0 - mu) * PRECISION)
                .expect("positive shapes")
                .sample(rng);
            let missing = rng.gen_bool(MISSING);
            out.push(if missing {
                f32::NAN
            } else {
                quantise(beta.clamp(1e-4, 1.0 - 1e-4))
            });
        }
    }
    out
}

/// `v` rounded to 4 decimals as the nearest f32 to `k/10000`: the value a
/// reader parses from the written text.
fn quantise(v: f64) -> f32 {
    (v * 1e4).round() as f32 / 1e4f32
}

fn genotypes(rng: &mut ChaCha8Rng, male: &[bool], roles: &[Signal]) -> Vec<f32> {
    let freq: Vec<f64> = roles.iter().map(|_| rng.gen_range(0.05..0.5)).collect();
    let mut out = Vec::with_capacity(male.len() * roles.len());
    for &m in male {
        for (j, role) in roles.iter().enumerate() {
            let a = rng.gen_bool(freq[j]);
            let b = rng.gen_bool(freq[j]);
            let dosage = match role {
                // One X in males: the single allele shows as 0 or 2.
                Signal::XLinked if m => 2 * u8::from(a),
                _ => u8::from(a) + u8::from(b),
            };
            out.push(if rng.gen_bool(MISSING / 2.0) {
                f32::NAN
            } else {
                f32::from(dosage)
            });
        }
    }
    out
}

/// The file layout `data synth` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// `features.tsv.gz` and `samples.tsv`.
    #[default]
    Tsv,
    /// `features.npy` (float32) with `ids.txt`, `feature_names.txt` and
    /// `samples.tsv`.
    Npy,
    /// `features.h5ad`, its obs holding the labels.
    H5ad,
}

impl Generated {
    /// Writes the matrix and labels in `format`, and `truth.tsv`, into `dir`.
    pub fn write(
        &self,
        dir: &Path,
        preset: Preset,
        format: OutputFormat,
    ) -> Result<Vec<PathBuf>, DataError> {
        std::fs::create_dir_all(dir).map_err(|source| DataError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let samples = dir.join("samples.tsv");
        let truth = dir.join("truth.tsv");
        let mut written = match format {
            OutputFormat::Tsv => vec![self.write_tsv(dir, preset)?, samples.clone()],
            OutputFormat::Npy => {
                let mut files = self.write_npy(dir)?;
                files.push(samples.clone());
                files
            }
            OutputFormat::H5ad => {
                let path = dir.join("features.h5ad");
                crate::h5ad_write::write(&path, &self.matrix, &self.sheet)?;
                vec![path]
            }
        };
        if format != OutputFormat::H5ad {
            write_file(&samples, false, |w| {
                writeln!(w, "id\t{}", self.sheet.columns.join("\t"))?;
                for (id, row) in self.sheet.ids.iter().zip(&self.sheet.cells) {
                    let cells: Vec<&str> =
                        row.iter().map(|c| c.as_deref().unwrap_or("NA")).collect();
                    writeln!(w, "{id}\t{}", cells.join("\t"))?;
                }
                Ok(())
            })?;
        }
        write_file(&truth, false, |w| {
            writeln!(w, "feature\ttarget\tkind")?;
            for (f, s) in self.matrix.features.iter().zip(&self.truth) {
                writeln!(w, "{f}\t{}\t{}", s.target(), s.kind())?;
            }
            Ok(())
        })?;
        written.push(truth);
        Ok(written)
    }

    fn write_npy(&self, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
        let features = dir.join("features.npy");
        let ids = dir.join("ids.txt");
        let names = dir.join("feature_names.txt");
        write_file(&features, false, |w| {
            use npyz::WriterBuilder;
            let mut npy = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&[self.matrix.rows() as u64, self.matrix.cols() as u64])
                .writer(w)
                .begin_nd()?;
            npy.extend(self.matrix.values.iter().copied())?;
            npy.finish()
        })?;
        for (path, lines) in [(&ids, &self.matrix.ids), (&names, &self.matrix.features)] {
            write_file(path, false, |w| {
                for l in lines {
                    writeln!(w, "{l}")?;
                }
                Ok(())
            })?;
        }
        Ok(vec![features, ids, names])
    }

    fn write_tsv(&self, dir: &Path, preset: Preset) -> Result<PathBuf, DataError> {
        let features = dir.join("features.tsv.gz");
        write_file(&features, true, |w| {
            let mut line = String::from("id");
            for f in &self.matrix.features {
                line.push('\t');
                line.push_str(f);
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
            for i in 0..self.matrix.rows() {
                line.clear();
                line.push_str(&self.matrix.ids[i]);
                for &v in self.matrix.row(i) {
                    line.push('\t');
                    if v.is_nan() {
                        line.push_str("NA");
                    } else if preset == Preset::Genotypes {
                        let _ = write!(line, "{}", v as u8);
                    } else {
                        let k = (v as f64 * 1e4).round() as u32;
                        let _ = write!(line, "{}.{:04}", k / 10_000, k % 10_000);
                    }
                }
                line.push('\n');
                w.write_all(line.as_bytes())?;
            }
            Ok(())
        })?;
        Ok(features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headsweep_spec::DEFAULT_AGE_SHAPE;

    #[test]
    fn horvath_is_continuous_at_adulthood() {
        assert!((horvath(20.0) - 0.0).abs() < 1e-12);
        assert!((horvath(20.0 + 1e-9) - 0.0).abs() < 1e-9);
        assert!(horvath(0.0) < horvath(10.0) && horvath(10.0) < horvath(60.0));
    }

    #[test]
    fn methylation_looks_like_beta_values() {
        let g = generate(Preset::Methylation, 400, 200, 1);
        let v: Vec<f32> = g
            .matrix
            .values
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        assert!(v.iter().all(|&b| (0.0..=1.0).contains(&b)));
        let extreme =
            v.iter().filter(|&&b| !(0.2..=0.8).contains(&b)).count() as f64 / v.len() as f64;
        assert!(extreme > 0.6, "most CpGs near 0 or 1: {extreme}");
        let missing = g.matrix.values.iter().filter(|v| v.is_nan()).count() as f64
            / g.matrix.values.len() as f64;
        assert!((0.01..0.03).contains(&missing), "{missing}");
    }

    #[test]
    fn every_age_band_is_populated_and_ages_are_skewed() {
        let g = generate(Preset::Methylation, 120, 40, 3);
        let ages: Vec<f64> = g
            .sheet
            .cells
            .iter()
            .map(|r| r[0].as_ref().unwrap().parse().unwrap())
            .collect();
        for b in 0..18 {
            let lo = b as f64 * 5.0;
            assert!(
                ages.iter()
                    .any(|&a| a >= lo && (a < lo + 5.0 || (b == 17 && a <= 90.0))),
                "band {b}"
            );
        }
        let large = generate(Preset::Methylation, 3000, 20, 3);
        let ages: Vec<f64> = large
            .sheet
            .cells
            .iter()
            .map(|r| r[0].as_ref().unwrap().parse().unwrap())
            .collect();
        let young = ages.iter().filter(|&&a| a < 45.0).count();
        assert!(
            young > 2 * (ages.len() - young),
            "skewed toward the young: {young}"
        );
    }

    fn ages_of(g: &Generated) -> Vec<f64> {
        g.sheet
            .cells
            .iter()
            .map(|r| r[0].as_ref().unwrap().parse().unwrap())
            .collect()
    }

    /// Mean |male − female| beta over the X- and Y-linked features.
    fn sex_gap(g: &Generated) -> f64 {
        let p = g.matrix.features.len();
        let male: Vec<bool> = g
            .sheet
            .cells
            .iter()
            .map(|r| r[1].as_deref() == Some("M"))
            .collect();
        let mut gaps = Vec::new();
        for j in (0..p).filter(|&j| g.truth[j].target() == "sex") {
            let mean = |want: bool| {
                let v: Vec<f64> = (0..male.len())
                    .filter(|&i| male[i] == want)
                    .map(|i| f64::from(g.matrix.values[i * p + j]))
                    .filter(|v| !v.is_nan())
                    .collect();
                v.iter().sum::<f64>() / v.len() as f64
            };
            gaps.push((mean(true) - mean(false)).abs());
        }
        gaps.iter().sum::<f64>() / gaps.len() as f64
    }

    /// The default tuning is the generator as drawn; a weaker sex effect
    /// narrows the sexes' gap, zero removes it, and a steeper age shape
    /// leaves old bands with their guaranteed few samples. Only the tuned
    /// quantity moves: ages do not depend on the sex effect.
    #[test]
    fn tuning_moves_only_what_it_names() {
        let plain = generate(Preset::Methylation, 600, 200, 4);
        let same = generate_tuned(Preset::Methylation, 600, 200, 4, Tuning::default());
        assert_eq!(plain.matrix.values.len(), same.matrix.values.len());
        assert!(plain
            .matrix
            .values
            .iter()
            .zip(&same.matrix.values)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let tune = |sex_effect: f64, age_shape: [f64; 2]| {
            generate_tuned(
                Preset::Methylation,
                600,
                200,
                4,
                Tuning {
                    sex_effect,
                    age_shape,
                },
            )
        };
        let weak = tune(0.2, DEFAULT_AGE_SHAPE);
        let none = tune(0.0, DEFAULT_AGE_SHAPE);
        let (g1, g02, g0) = (sex_gap(&plain), sex_gap(&weak), sex_gap(&none));
        assert!(g1 > 0.3 && g02 < g1 / 2.0 && g0 < 0.02, "{g1} {g02} {g0}");
        assert_eq!(ages_of(&weak), ages_of(&plain));
        let old = |g: &Generated| ages_of(g).iter().filter(|&&a| a >= 60.0).count();
        let steep = tune(1.0, [1.0, 8.0]);
        // 600 samples guarantee 4 per band: 24 in the six bands from 60.
        assert!(old(&steep) >= 24 && old(&steep) <= 26, "{}", old(&steep));
        assert!(old(&plain) > 2 * old(&steep), "{}", old(&plain));
    }

    /// The mean beta of the signal features differs between groups as the
    /// generator says it should.
    #[test]
    fn signal_features_carry_their_signal() {
        let g = generate(Preset::Methylation, 600, 200, 5);
        let male: Vec<bool> = g
            .sheet
            .cells
            .iter()
            .map(|r| r[1].as_deref() == Some("M"))
            .collect();
        let age: Vec<f64> = g
            .sheet
            .cells
            .iter()
            .map(|r| r[0].as_ref().unwrap().parse().unwrap())
            .collect();
        let mean_where = |j: usize, pick: &dyn Fn(usize) -> bool| {
            let v: Vec<f64> = (0..600)
                .filter(|&i| pick(i))
                .map(|i| g.matrix.row(i)[j] as f64)
                .filter(|v| !v.is_nan())
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        for (j, s) in g.truth.iter().enumerate() {
            match s {
                Signal::XLinked => {
                    let (m, f) = (mean_where(j, &|i| male[i]), mean_where(j, &|i| !male[i]));
                    assert!(f > 0.35 && m < 0.2, "x-linked {j}: female {f}, male {m}");
                }
                Signal::YLinked => {
                    assert!(mean_where(j, &|i| male[i]) > mean_where(j, &|i| !male[i]) + 0.4)
                }
                Signal::AgeUp => assert!(
                    mean_where(j, &|i| age[i] > 60.0) > mean_where(j, &|i| age[i] < 10.0) + 0.1
                ),
                Signal::AgeDown => assert!(
                    mean_where(j, &|i| age[i] > 60.0) + 0.1 < mean_where(j, &|i| age[i] < 10.0)
                ),
                Signal::None => {}
            }
        }
    }

    #[test]
    fn genotypes_are_dosages_with_hemizygous_x_in_males() {
        let g = generate(Preset::Genotypes, 200, 100, 2);
        assert!(g
            .matrix
            .values
            .iter()
            .all(|v| v.is_nan() || [0.0, 1.0, 2.0].contains(v)));
        assert!(!g.truth.iter().any(|s| s.target() == "age"));
        for (j, s) in g.truth.iter().enumerate() {
            if *s == Signal::XLinked {
                for i in 0..200 {
                    if g.sheet.cells[i][1].as_deref() == Some("M") {
                        assert_ne!(g.matrix.row(i)[j], 1.0);
                    }
                }
            }
        }
    }

    #[test]
    fn written_files_read_back_identically_and_are_byte_stable() {
        let d = tempfile::tempdir().unwrap();
        let g = generate(Preset::Methylation, 80, 30, 9);
        let files = g
            .write(&d.path().join("a"), Preset::Methylation, OutputFormat::Tsv)
            .unwrap();
        g.write(&d.path().join("b"), Preset::Methylation, OutputFormat::Tsv)
            .unwrap();
        for f in &files {
            let name = f.file_name().unwrap();
            let a = std::fs::read(d.path().join("a").join(name)).unwrap();
            let b = std::fs::read(d.path().join("b").join(name)).unwrap();
            assert_eq!(a, b, "{name:?}");
        }
        let m = Matrix::read_delimited(&files[0]).unwrap();
        assert_eq!(m.ids, g.matrix.ids);
        let same = m
            .values
            .iter()
            .zip(&g.matrix.values)
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
        assert!(same, "values read back equal the generated ones");
        let s = Sheet::read(&files[1], None).unwrap();
        assert_eq!(s.cells, g.sheet.cells);
    }

    #[test]
    fn npy_and_h5ad_hold_the_same_data_set() {
        let d = tempfile::tempdir().unwrap();
        let g = generate(Preset::Methylation, 70, 25, 3);
        let same = |m: &Matrix| {
            m.ids == g.matrix.ids
                && m.features == g.matrix.features
                && m.values
                    .iter()
                    .zip(&g.matrix.values)
                    .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()))
        };
        let npy = g
            .write(d.path(), Preset::Methylation, OutputFormat::Npy)
            .unwrap();
        let m = Matrix::read_npy(&npy[0], &npy[1], Some(&npy[2])).unwrap();
        assert!(same(&m));
        let h5 = g
            .write(d.path(), Preset::Methylation, OutputFormat::H5ad)
            .unwrap();
        let (m, obs) = crate::h5ad::read(&h5[0], None).unwrap();
        assert!(same(&m));
        assert_eq!(obs.columns, g.sheet.columns);
        // Ages are written as numbers: "45.0" reads back as "45".
        for (a, b) in obs.cells.iter().zip(&g.sheet.cells) {
            for (x, y) in a.iter().zip(b) {
                let num = |v: &Option<String>| v.as_deref().map(|t| t.parse::<f64>().ok());
                match (num(x), num(y)) {
                    (Some(Some(p)), Some(Some(q))) => assert_eq!(p, q),
                    _ => assert_eq!(x, y),
                }
            }
        }
    }
}
