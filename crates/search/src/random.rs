//! Independent draws, each from a generator of its own.

use headsweep_spec::Search;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::space;

/// A generator for one purpose of one design: BLAKE3 of the search seed,
/// the design's label, the purpose and an index. Adding a design or a
/// trial leaves every other draw as it was.
pub(crate) fn generator(seed: u64, design: &str, purpose: &str, index: u64) -> ChaCha8Rng {
    let mut h = blake3::Hasher::new();
    h.update(b"headsweep search\0");
    h.update(&seed.to_le_bytes());
    h.update(design.as_bytes());
    h.update(b"\0");
    h.update(purpose.as_bytes());
    h.update(b"\0");
    h.update(&index.to_le_bytes());
    ChaCha8Rng::from_seed(*h.finalize().as_bytes())
}

/// Trial `index` of `design`, drawn uniformly from the space (in the log
/// for log_uniform).
pub(crate) fn trial(search: &Search, design: &str, index: usize) -> Vec<Value> {
    let mut rng = generator(search.seed, design, "trial", index as u64);
    search
        .space
        .iter()
        .map(|p| space::draw_prior(&p.distribution, &mut rng))
        .collect()
}
