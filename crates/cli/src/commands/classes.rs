use anyhow::bail;
use headsweep_metrics::Confusion;
use headsweep_report::{add_confusion, class_table, Filter};
use headsweep_spec::RunStatus;
use headsweep_store::{Access, Store};

use super::report::sweep_data;
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
        let mut classes: Vec<String> = Vec::new();
        let mut total = Confusion { cells: Vec::new() };
        for r in &chosen {
            let m = store.confusion(&r.id, &a.split, &a.head).await?;
            if classes.is_empty() {
                total.cells = vec![vec![0; m.classes.len()]; m.classes.len()];
                classes.clone_from(&m.classes);
            }
            if m.classes != classes || !add_confusion(&mut total, &m.counts) {
                bail!(
                    "run {} has other classes for head {} than run {}: the runs do not share a data set; narrow --where",
                    headsweep_spec::short_id(&r.id),
                    a.head,
                    headsweep_spec::short_id(&chosen[0].id)
                );
            }
        }
        let mut seeds: Vec<i64> = chosen.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        anyhow::Ok((classes, total, chosen.len(), seeds.len()))
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
