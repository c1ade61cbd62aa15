use anyhow::bail;
use headsweep_report::{class_table, Filter};
use headsweep_spec::RunStatus;
use headsweep_store::{Access, Store};

use super::report::{summed_confusion, sweep_data};
use super::runs::table_format;
use crate::args::{ClassesArgs, TableFormatArg};

pub fn run(a: ClassesArgs) -> anyhow::Result<()> {
    let filter = a.filter.as_deref().map(Filter::parse).transpose()?;
    let (classes, total, runs, seeds) = super::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        let data = sweep_data(&store, &a.sweep).await?;
        if let Some(f) = &filter {
            f.check(&data.axes, &data.heads())?;
        }
        data.check_head("--head", &a.head)?;
        if a.head == headsweep_metrics::JOINT {
            bail!("--head joint has no classes; name a task");
        }
        let chosen: Vec<_> = data
            .runs
            .iter()
            .filter(|r| r.status == RunStatus::Done)
            .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)))
            .collect();
        if chosen.is_empty() {
            bail!(
                "no done run of sweep {} matches{}",
                a.sweep,
                a.filter
                    .as_deref()
                    .map_or_else(String::new, |f| format!(" {f:?}"))
            );
        }
        let ids: Vec<&str> = chosen.iter().map(|r| r.id.as_str()).collect();
        let (classes, total, summed) = summed_confusion(&store, &ids, &a.split, &a.head)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no run of sweep {} that matches has class counts for head {} on {}",
                    a.sweep,
                    a.head,
                    a.split
                )
            })?;
        let mut seeds: Vec<i64> = chosen.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        anyhow::Ok((classes, total, summed, seeds.len()))
    })?;
    let table = class_table(&classes, &total);
    if a.format == TableFormatArg::Table {
        println!(
            "{} split, head {}: counts summed over {runs} done runs ({seeds} seeds); precision, recall and F1 from the sums",
            a.split, a.head
        );
    }
    print!("{}", table.render(table_format(a.format)));
    Ok(())
}
