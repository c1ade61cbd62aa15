use anyhow::Context;
use headsweep_data::synth;
use headsweep_spec::Preset;

use crate::args::{PresetArg, SynthArgs};

pub fn run(a: SynthArgs) -> anyhow::Result<()> {
    let preset = match a.preset {
        PresetArg::Methylation => Preset::Methylation,
        PresetArg::Genotypes => Preset::Genotypes,
    };
    let g = synth::generate(preset, a.samples as usize, a.features as usize, a.seed);
    let files = g
        .write(&a.out, preset)
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
