use headsweep_report::{
    compare, render_comparison, Adjust, CompareOptions, ComparisonFormat, Pool,
};
use headsweep_store::{Access, Store};

use super::report::{emit, metric_key, sweep_data_for, Needed};
use crate::args::{AdjustArg, CompareArgs, CompareFormat, ComparisonArgs, PoolArg};

/// The comparison the flags describe.
pub fn options(a: &ComparisonArgs) -> anyhow::Result<CompareOptions> {
    let metrics = a
        .metrics
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|s| metric_key(s, "test").map(|(_, h, m)| (h, m)))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let baseline = a
        .baseline
        .as_ref()
        .map(|b| {
            b.iter()
                .map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                        .ok_or_else(|| anyhow::anyhow!("--baseline {kv:?}: expected AXIS=VALUE"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let select_by = a
        .select_by
        .as_ref()
        .map(|s| match s.split('.').count() {
            3 => metric_key(s, "val"),
            _ => anyhow::bail!(
                "--select-by {s:?}: expected SPLIT.HEAD.METRIC, e.g. val.age.balanced_accuracy"
            ),
        })
        .transpose()?;
    Ok(CompareOptions {
        rows: a.rows.clone(),
        metrics,
        split: a.split.clone(),
        baseline,
        select_by,
        adjust: match a.adjust {
            AdjustArg::None => Adjust::None,
            AdjustArg::Holm => Adjust::Holm,
            AdjustArg::HolmAll => Adjust::HolmAll,
        },
        pool: match a.pool {
            PoolArg::Seed => Pool::Seed,
            PoolArg::Run => Pool::Run,
        },
        margin: a.margin,
        rounds: None,
    })
}

pub fn run(a: CompareArgs) -> anyhow::Result<()> {
    let opts = options(&a.table)?;
    let format = match a.format {
        CompareFormat::Md => ComparisonFormat::Markdown,
        CompareFormat::Csv => ComparisonFormat::Csv,
        CompareFormat::Json => ComparisonFormat::Json,
        CompareFormat::Latex if a.intervals => ComparisonFormat::LatexFull,
        CompareFormat::Latex => ComparisonFormat::Latex,
        CompareFormat::Html if a.fragment => ComparisonFormat::HtmlFragment,
        CompareFormat::Html => ComparisonFormat::Html,
    };
    if a.fragment && a.format != CompareFormat::Html {
        anyhow::bail!("--fragment applies to --format html");
    }
    if a.intervals && a.format != CompareFormat::Latex {
        anyhow::bail!("--intervals applies to --format latex");
    }
    let (data, rounds, left_out) = super::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        let data = sweep_data_for(&store, &a.sweep, Some(&Needed::of(&opts))).await?;
        anyhow::Ok((
            data,
            super::seeds::for_compare(&store, &a.sweep).await?,
            super::pruned::left_out_of_compare(&store, &a.sweep).await?,
        ))
    })?;
    // On standard error: the table's formats stay as they are.
    if let Some(note) = left_out {
        eprintln!("{note}");
    }
    let opts = CompareOptions { rounds, ..opts };
    let table = compare(&data, &opts)?;
    emit(a.out.as_deref(), &render_comparison(&table, format))
}
