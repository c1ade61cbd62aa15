//! A split's rows as tensors, and the rows of each training batch: the
//! padding that keeps every member's slice of a batched product aligned.
//! Used by training and evaluation alike.

use headsweep_data::{Dataset, Part};
use tch::{Device, Tensor};

use crate::loss::Targets;
use crate::net::Net;

/// Every member's rows in a batch are padded to a multiple of this many,
/// so that each member's slice of a batched product starts on a 16-byte
/// boundary: MKL's matrix multiply rounds differently into an output that
/// is not 16-byte aligned, and a run's numbers must not depend on its
/// position in a fused group.
pub(crate) const ROW_ALIGN: usize = 4;

/// `rows` rounded up to a multiple of [`ROW_ALIGN`].
pub(crate) fn padded(rows: usize) -> usize {
    rows.div_ceil(ROW_ALIGN) * ROW_ALIGN
}

/// One split on the model's device.
pub(crate) struct SplitInput {
    pub part: Part,
    pub ids: Vec<String>,
    /// The split's rows, then zero rows without labels (padding).
    pub x: Tensor,
    pub targets: Targets,
    /// Per task, each sample's label.
    pub labels: Vec<Vec<Option<usize>>>,
    /// Per task, each sample's regression target (see `TaskLabels::target`).
    pub values: Vec<Vec<Option<f64>>>,
}

impl SplitInput {
    /// A split's rows followed by zero rows without labels: at least one
    /// (the row index `n` pads training batches) and enough to make
    /// `padded(n)`.
    pub(crate) fn new(data: &Dataset, part: Part, net: &Net, device: Device) -> SplitInput {
        let idx = data.indices(part);
        let p = data.n_features();
        let rows = padded(idx.len() + 1);
        let mut x = Vec::with_capacity(rows * p);
        for &i in &idx {
            x.extend_from_slice(&data.x[i * p..(i + 1) * p]);
        }
        x.resize(rows * p, 0.0);
        let labels: Vec<Vec<Option<usize>>> = data
            .tasks
            .iter()
            .map(|t| idx.iter().map(|&i| t.labels[i]).collect())
            .collect();
        let values: Vec<Vec<Option<f64>>> = data
            .tasks
            .iter()
            .map(|t| idx.iter().map(|&i| t.target(i)).collect())
            .collect();
        let mut padded_labels = labels.clone();
        for l in &mut padded_labels {
            l.resize(rows, None);
        }
        let classes: Vec<usize> = data.tasks.iter().map(|t| t.classes.len()).collect();
        SplitInput {
            part,
            ids: idx.iter().map(|&i| data.ids[i].clone()).collect(),
            x: Tensor::from_slice(&x)
                .view([rows as i64, p as i64])
                .to_kind(net.kind())
                .to_device(device),
            targets: Targets::new(&padded_labels, &values, &classes, net.kind(), device),
            labels,
            values,
        }
    }

    /// Real (not padding) samples.
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The training rows of one batch for every member, member after member:
/// positions `lo..hi` of each member's order, then the zero row `pad_row`
/// until each member has [`padded`]`(hi − lo)` rows.
pub(crate) fn batch_rows<'a>(
    orders: impl Iterator<Item = &'a [i64]>,
    lo: usize,
    hi: usize,
    pad_row: i64,
) -> Vec<i64> {
    let pad = padded(hi - lo) - (hi - lo);
    orders
        .flat_map(|order| {
            order[lo..hi]
                .iter()
                .copied()
                .chain(std::iter::repeat_n(pad_row, pad))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_to_a_multiple_of_four() {
        assert_eq!(
            (0..=9).map(padded).collect::<Vec<_>>(),
            [0, 4, 4, 4, 4, 8, 8, 8, 8, 12]
        );
    }

    #[test]
    fn each_member_gets_its_own_rows_then_the_pad_row() {
        let a: Vec<i64> = vec![5, 3, 1, 0, 2, 4];
        let b: Vec<i64> = vec![0, 1, 2, 3, 4, 5];
        let rows = batch_rows([a.as_slice(), b.as_slice()].into_iter(), 1, 4, 6);
        assert_eq!(rows, vec![3, 1, 0, 6, 1, 2, 3, 6]);
        let full = batch_rows([a.as_slice()].into_iter(), 0, 4, 6);
        assert_eq!(full, vec![5, 3, 1, 0]);
    }
}
