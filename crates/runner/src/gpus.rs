//! Free memory of the CUDA devices, from NVIDIA's driver (`nvidia-smi`),
//! without loading libtorch: `--devices auto` places workers by it.

use std::process::Command;

/// One CUDA device as `--devices auto` sees it, in CUDA's order
/// (`cuda:0` first). Free memory in MiB; `None` where the driver could not
/// say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gpu {
    pub free_mib: Option<u64>,
}

impl Gpu {
    /// A device whose memory is unknown: it counts like any other.
    pub const UNKNOWN: Gpu = Gpu { free_mib: None };
}

/// One line of `nvidia-smi --query-gpu=index,uuid,memory.free
/// --format=csv,noheader,nounits`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SmiRow {
    index: String,
    uuid: String,
    free: u64,
}

fn parse_smi(text: &str) -> Option<Vec<SmiRow>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').map(str::trim).collect();
            match f.as_slice() {
                [index, uuid, free] => Some(SmiRow {
                    index: index.to_string(),
                    uuid: uuid.to_string(),
                    free: free.parse().ok()?,
                }),
                _ => None,
            }
        })
        .collect()
}

/// The driver's rows in CUDA's order: those `CUDA_VISIBLE_DEVICES` names
/// (indices or UUIDs, a UUID possibly shortened), in its order, up to the
/// first entry that names none (CUDA stops there too); all of them when it
/// is unset. `None` where an entry is ambiguous.
fn visible(rows: Vec<SmiRow>, var: Option<&str>) -> Option<Vec<SmiRow>> {
    let Some(var) = var else {
        return Some(rows);
    };
    let mut out = Vec::new();
    for entry in var.split(',').map(str::trim) {
        let found: Vec<&SmiRow> = if entry.starts_with("GPU-") {
            rows.iter().filter(|r| r.uuid.starts_with(entry)).collect()
        } else {
            rows.iter().filter(|r| r.index == entry).collect()
        };
        match found.as_slice() {
            [] => break,
            [one] => out.push((*one).clone()),
            _ => return None,
        }
    }
    Some(out)
}

/// The `count` CUDA devices libtorch sees, with the free memory the driver
/// reports. Where that cannot be matched to them (no `nvidia-smi`, MIG
/// slices, a count that differs) every device's memory is `None` and they
/// count alike. CUDA's default order puts the fastest device first; on the
/// identical GPUs of one machine that is the driver's order.
pub fn gpu_memory(count: usize) -> Vec<Gpu> {
    let unknown = vec![Gpu::UNKNOWN; count];
    if count == 0 {
        return unknown;
    }
    let Ok(out) = Command::new("nvidia-smi")
        .args([
            "--query-gpu=index,uuid,memory.free",
            "--format=csv,noheader,nounits",
        ])
        .output()
    else {
        return unknown;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    match parse_smi(&text)
        .and_then(|rows| visible(rows, std::env::var("CUDA_VISIBLE_DEVICES").ok().as_deref()))
    {
        Some(rows) if out.status.success() && rows.len() == count => rows
            .iter()
            .map(|r| Gpu {
                free_mib: Some(r.free),
            })
            .collect(),
        _ => unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMI: &str =
        "0, GPU-aaaa1111-0000, 80000\n1, GPU-bbbb2222-0000, 1200\n2, GPU-cccc3333-0000, 40000\n";

    fn free(rows: &[SmiRow]) -> Vec<u64> {
        rows.iter().map(|r| r.free).collect()
    }

    #[test]
    fn the_drivers_table_is_read_in_cudas_order() {
        let rows = parse_smi(SMI).unwrap();
        assert_eq!(free(&rows), [80000, 1200, 40000]);
        assert_eq!(rows[1].uuid, "GPU-bbbb2222-0000");
        assert_eq!(
            free(&visible(rows.clone(), None).unwrap()),
            [80000, 1200, 40000]
        );
        assert_eq!(
            free(&visible(rows.clone(), Some("2,0")).unwrap()),
            [40000, 80000]
        );
        assert_eq!(
            free(&visible(rows.clone(), Some("GPU-bbbb,GPU-aaaa1111-0000")).unwrap()),
            [1200, 80000]
        );
        // CUDA stops at the first entry that names no device.
        assert_eq!(free(&visible(rows.clone(), Some("1,7,0")).unwrap()), [1200]);
        assert_eq!(visible(rows, Some("GPU-")), None, "ambiguous");
        assert_eq!(parse_smi("0, GPU-a, [N/A]\n"), None);
    }
}
