//! A property of the sweep-file parser: whatever the bytes, it returns a
//! sweep or an error — it never panics. Thousands of mutations of a valid
//! file (bytes flipped, deleted, duplicated, TOML punctuation and numbers
//! inserted, lines swapped, truncation), from a fixed generator so that a
//! failure reproduces.

use std::path::Path;

use headsweep_spec::SweepFile;

const VALID: &str = r#"[sweep]
name = "p"
seeds = [0, 1]

[data]
synthetic = { preset = "methylation", samples = 200, features = 40 }
seed = 0
split = { train = 0.7, val = 0.15, test = 0.15 }

[[tasks]]
name = "age"
column = "age"
bins = [0, 30, 60, 90]
class_weights = [1.0, 2.0, 1.0]

[[tasks]]
name = "sex"
loss = "ce"

[model]
architecture = "multi_head"
trunk = [16, 8]
head_depth = 1
head_width = 8
dropout = 0.1

[train]
loss = "focal"
lr = 1e-3
epochs = 2
batch_size = 32
task_weighting = "dwa"

[grid]
"model.head_depth" = [0, 1]
"train.lr" = [1e-3, 1e-2]
"#;

/// xorshift64*: enough to spread mutations, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: [&str; 16] = [
    "[",
    "]",
    "{",
    "}",
    "=",
    "\"",
    ",",
    ".",
    "\n",
    "-1",
    "1e400",
    "nan",
    "0",
    "[[tasks]]",
    "'",
    "#",
];

fn mutate(rng: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut v = text.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = at.min(v.len() - 1);
                v[i] = (rng.next() & 0xff) as u8;
            }
            1 if !v.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(v.len());
                v.drain(at.min(end)..end);
            }
            2 => {
                let piece = PIECES[rng.below(PIECES.len())].as_bytes();
                v.splice(at..at, piece.iter().copied());
            }
            3 => {
                let end = (at + rng.below(40)).min(v.len());
                let copy = v[at.min(end)..end].to_vec();
                v.splice(at..at, copy);
            }
            4 => v.truncate(at),
            _ => {
                let lines: Vec<&[u8]> = v.split(|&b| b == b'\n').collect();
                if lines.len() > 2 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    let mut l: Vec<Vec<u8>> = lines.iter().map(|x| x.to_vec()).collect();
                    l.swap(a, b);
                    v = l.join(&b'\n');
                }
            }
        }
    }
    v
}

#[test]
fn the_valid_file_parses() {
    assert!(SweepFile::parse(Path::new("p.toml"), VALID).is_ok());
}

#[test]
fn no_mutation_of_a_sweep_file_makes_the_parser_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut refused) = (0, 0);
    for i in 0..4000 {
        let bytes = mutate(&mut rng, VALID.as_bytes());
        let Ok(text) = String::from_utf8(bytes.clone()) else {
            // Not UTF-8: `SweepFile::load` refuses it before parsing.
            continue;
        };
        let outcome = std::panic::catch_unwind(|| SweepFile::parse(Path::new("p.toml"), &text));
        match outcome {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                // Every error names the file.
                assert!(e.to_string().starts_with("p.toml"), "mutation {i}: {e}");
                refused += 1;
            }
            Err(_) => panic!("mutation {i} made the parser panic:\n{text}"),
        }
    }
    // The mutations reach both outcomes.
    assert!(ok > 50 && refused > 1000, "{ok} parsed, {refused} refused");
}
