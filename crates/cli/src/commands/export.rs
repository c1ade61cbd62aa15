use std::io::Write;

use anyhow::Context;
use headsweep_report::{RowWriter, TableFormat};
use headsweep_store::{Access, Export, Store};

use super::report::{emit_with, to_value};
use crate::args::{ExportArgs, ExportFormat, ExportWhat};

/// Writes the table as it is read, a row at a time: an export holds one
/// row, not the sweep's millions of predictions or confusion cells.
pub fn run(a: ExportArgs) -> anyhow::Result<()> {
    let what = match a.what {
        ExportWhat::Runs => Export::Runs,
        ExportWhat::Metrics => Export::Metrics,
        ExportWhat::Classes => Export::Classes,
        ExportWhat::Confusion => Export::Confusion,
        ExportWhat::Curves => Export::Curves,
        ExportWhat::Predictions => Export::Predictions,
    };
    let format = match a.format {
        ExportFormat::Csv => TableFormat::Csv,
        ExportFormat::Json => TableFormat::Json,
    };
    let rt = super::runtime()?;
    let store = rt.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        if !store.has_sweep(&a.sweep).await? {
            anyhow::bail!("no sweep named {:?} in {}", a.sweep, a.store.db);
        }
        anyhow::Ok(store)
    })?;
    emit_with(a.out.as_deref(), |out: &mut dyn Write| {
        let mut w =
            RowWriter::new(format, std::io::BufWriter::new(out)).expect("exports are CSV or JSON");
        let (columns, _) = rt.block_on(store.export_each(&a.sweep, what, |columns, cells| {
            w.row(
                columns,
                &cells.into_iter().map(to_value).collect::<Vec<_>>(),
            )
            .context("writing the export")
        }))?;
        w.finish(&columns).context("writing the export")?;
        Ok(())
    })
}
