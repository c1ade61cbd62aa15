use anyhow::Context;
use headsweep_data::synth;
use headsweep_spec::Preset;

use crate::args::{PresetArg, SynthArgs};

pub fn run(a: SynthArgs) -> anyhow::Result<()> {
    let preset = match a.preset {
        PresetArg::Methylation => Preset::Methylation,
        PresetArg::Genotypes => Preset::Genotypes,
    };
    if !(a.sex_effect.is_finite() && a.sex_effect >= 0.0) {
        anyhow::bail!("--sex-effect {}: expected a number ≥ 0", a.sex_effect);
    }
    let age_shape = [a.age_shape[0], a.age_shape[1]];
    if !age_shape.iter().all(|v| v.is_finite() && *v > 0.0) {
        anyhow::bail!(
            "--age-shape {:?}: expected two positive Beta shapes A,B",
            a.age_shape
        );
    }
    let tuning = synth::Tuning {
        sex_effect: a.sex_effect,
        age_shape,
    };
    let g = synth::generate_tuned(
        preset,
        a.samples as usize,
        a.features as usize,
        a.seed,
        tuning,
    );
    let files = g
        .write(
            &a.out,
            preset,
            match a.format {
                crate::args::SynthFormat::Tsv => synth::OutputFormat::Tsv,
                crate::args::SynthFormat::Npy => synth::OutputFormat::Npy,
                crate::args::SynthFormat::H5ad => synth::OutputFormat::H5ad,
            },
        )
        .context("writing the synthetic data set")?;
    let count = |target| g.truth.iter().filter(|s| s.target() == target).count();
    println!(
        "{} samples × {} features ({:?}, seed {}): {} age features, {} sex features",
        a.samples,
        a.features,
        preset,
        a.seed,
        count("age"),
        count("sex")
    );
    for f in files {
        println!("wrote {}", f.display());
    }
    Ok(())
}
