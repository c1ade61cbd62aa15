use headsweep_report::{runs_table, Filter, Table, TableFormat};
use headsweep_store::{Access, Store};

use super::report::{metric_key, sweep_data_with_trials, Needed};
use crate::args::{RunsArgs, TableFormatArg};

pub fn table_format(f: TableFormatArg) -> TableFormat {
    match f {
        TableFormatArg::Table => TableFormat::Text,
        TableFormatArg::Csv => TableFormat::Csv,
        TableFormatArg::Json => TableFormat::Json,
    }
}

pub fn run(a: RunsArgs) -> anyhow::Result<()> {
    let filter = a.filter.as_deref().map(Filter::parse).transpose()?;
    let asked = a
        .metrics
        .as_ref()
        .map(|m| {
            m.iter()
                .map(|s| metric_key(s, "test").map(|(sp, h, m)| (sp, h, m.name().to_string())))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let out = super::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        let sweeps = match &a.sweep {
            Some(s) => vec![s.clone()],
            None => store.sweeps().await?,
        };
        let mut out = String::new();
        // Only the metrics shown or filtered on: a sweep's other metrics
        // can be thousands of rows a run.
        let mut keys: Vec<(String, String, String)> = asked.clone().unwrap_or_default();
        keys.extend(filter.iter().flat_map(Filter::metric_keys));
        let mut splits: Vec<String> = keys.iter().map(|(s, _, _)| s.clone()).collect();
        splits.push("test".into());
        let needed = Needed::new(splits, keys.into_iter().map(|(_, _, m)| m).collect());
        for s in sweeps {
            let mut data = sweep_data_with_trials(&store, &s, Some(&needed)).await?;
            let pruned = super::pruned::stored(&store, &s).await?;
            for r in &mut data.runs {
                r.pruned = pruned.contains(&r.id);
            }
            if let Some(f) = &filter {
                f.check(&data.axes, &data.heads())?;
            }
            for (_, head, _) in asked.iter().flatten() {
                data.check_head("--metrics", head)?;
            }
            let metrics = asked.clone().unwrap_or_else(|| {
                data.heads()
                    .into_iter()
                    .map(|h| {
                        let m = if h == "joint" {
                            "exact_match"
                        } else {
                            "accuracy"
                        };
                        ("test".to_string(), h, m.to_string())
                    })
                    .collect()
            });
            let table: Table = runs_table(
                &data,
                &metrics,
                filter.as_ref(),
                a.format == TableFormatArg::Table,
            );
            if a.sweep.is_none() && a.format == TableFormatArg::Table {
                out += &format!("sweep {s}\n");
            }
            out += &table.render(table_format(a.format));
        }
        anyhow::Ok(out)
    })?;
    super::report::emit(None, &out)
}
