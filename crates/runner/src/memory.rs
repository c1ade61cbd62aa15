//! Memory a sweep would need, estimated before anything is allocated, so
//! that a setting too large for the machine is refused with the setting's
//! name and the estimate instead of aborting a process.

use headsweep_spec::{Architecture, Dtype, RunConfig, SweepFile};

use crate::RunnerError;

/// Bytes the kernel says can be allocated without swapping
/// (`MemAvailable`), or `None` where that cannot be read.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Bytes of a generated data set while it is built: the f32 matrix, the
/// generator's own copy, and the scaled copy the data set keeps.
pub fn synthetic_bytes(config: &RunConfig) -> Option<u128> {
    let s = config.data.synthetic.as_ref()?;
    Some(s.samples as u128 * s.features as u128 * 4 * 3)
}

/// Trainable parameters of a run's network, from its shape alone: the
/// trunk, each task's tower of `head_depth` layers, and output layers (at
/// most as wide as a task's classes, counted from its bins or order, 2
/// otherwise), or `model.params` (plus its 2% tolerance) when that is
/// larger. An estimate for refusing what cannot fit, not a count.
pub fn parameter_estimate(config: &RunConfig, features: usize) -> u128 {
    let shaped = shape_estimate(config, features);
    config
        .model
        .params
        .map_or(shaped, |p| shaped.max(p as u128 * 102 / 100))
}

fn shape_estimate(config: &RunConfig, features: usize) -> u128 {
    let m = &config.model;
    let dense = |widths: &[usize]| -> u128 {
        widths
            .windows(2)
            .map(|w| (w[0] as u128 + 1) * w[1] as u128)
            .sum()
    };
    let mut trunk = vec![features];
    trunk.extend(&m.trunk);
    let shared = if m.architecture == Architecture::Separate {
        0
    } else {
        dense(&trunk)
    };
    let latent = *trunk.last().unwrap_or(&features);
    let mut total = shared;
    for t in &config.tasks {
        let classes = t
            .bins
            .as_ref()
            .map(|b| b.len().saturating_sub(1))
            .or(t.order.as_ref().map(Vec::len))
            .unwrap_or(2)
            .max(1);
        if m.architecture == Architecture::Separate {
            total += dense(&trunk);
        }
        let mut tower = vec![latent];
        tower.extend(std::iter::repeat_n(m.head_width, m.head_depth));
        tower.push(classes);
        total += dense(&tower);
    }
    total
}

/// Bytes one run holds for its parameters: weights, gradients and the
/// optimiser's two moments.
pub fn training_bytes(config: &RunConfig, features: usize) -> u128 {
    let width = match config.model.dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    parameter_estimate(config, features) * width * 4
}

fn gib(bytes: u128) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

/// Refuses a sweep whose generated data or whose networks would not fit in
/// the memory available now, naming the setting and the estimate. Networks
/// are estimated where the input width is known before reading data: for
/// generated data.
pub fn check_memory(sweep: &SweepFile) -> Result<(), RunnerError> {
    let Some(available) = available_memory() else {
        return Ok(());
    };
    let available = available as u128;
    for p in &sweep.points {
        let c = &p.config;
        if let (Some(bytes), Some(s)) = (synthetic_bytes(c), &c.data.synthetic) {
            if bytes > available {
                return Err(RunnerError::Memory {
                    setting: "data.synthetic".into(),
                    what: format!(
                        "{} samples × {} features need about {} while the data are generated",
                        s.samples,
                        s.features,
                        gib(bytes)
                    ),
                    available: gib(available),
                });
            }
        }
        if let Some(p_in) = c.data.synthetic.as_ref().map(|s| s.features) {
            let bytes = training_bytes(c, p_in);
            if bytes > available {
                return Err(RunnerError::Memory {
                    setting: "model.trunk / model.head_width".into(),
                    what: format!(
                        "a run has about {} parameters, {} with gradients and optimiser state",
                        parameter_estimate(c, p_in),
                        gib(bytes)
                    ),
                    available: gib(available),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sweep(extra: &str) -> SweepFile {
        let text = format!(
            r#"
[sweep]
name = "m"
seeds = [0]
[data]
synthetic = {{ preset = "methylation", samples = 100, features = 20 }}
[[tasks]]
name = "age"
column = "age"
bins = [0, 30, 60, 90]
[[tasks]]
name = "sex"
{extra}
"#
        );
        SweepFile::parse(Path::new("m.toml"), &text).unwrap()
    }

    #[test]
    fn parameters_by_hand() {
        let s = sweep("[model]\ntrunk = [4]\nhead_depth = 1\nhead_width = 3\n");
        let c = &s.points[0].config;
        // Trunk 20→4: 84. Each task: 4→3 (15) then 3→classes: age 3 (12), sex 2 (8).
        assert_eq!(parameter_estimate(c, 20), 84 + 15 + 12 + 15 + 8);
        assert_eq!(training_bytes(c, 20), (84 + 15 + 12 + 15 + 8) * 4 * 4);
    }

    #[test]
    fn what_cannot_fit_is_refused_naming_the_setting() {
        let s = sweep("[model]\ntrunk = [4000000, 4000000]\n");
        let e = check_memory(&s).unwrap_err().to_string();
        if available_memory().is_some() {
            assert!(e.contains("model.trunk") && e.contains("GiB"), "{e}");
        }
        let small = sweep("");
        assert!(check_memory(&small).is_ok());
    }
}
