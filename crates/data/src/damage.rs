//! Damaged copies of a file, for tests that readers fail cleanly.

/// `rounds` copies of `clean`, copy i with 1 + i % 4 bits flipped at
/// places drawn from a fixed sequence (xorshift from `seed`), each with
/// its round number.
pub(crate) fn damaged_copies(
    clean: &[u8],
    rounds: u32,
    seed: u64,
) -> impl Iterator<Item = (u32, Vec<u8>)> + '_ {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..rounds).map(move |round| {
        let mut bytes = clean.to_vec();
        for _ in 0..1 + round % 4 {
            let at = (next() % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (next() % 8);
        }
        (round, bytes)
    })
}
