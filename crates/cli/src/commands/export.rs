use headsweep_report::TableFormat;
use headsweep_store::{Access, Export, Store};

use super::report::emit_rows;
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
    emit_rows(a.out.as_deref(), format, |row| {
        Ok(rt.block_on(store.export_each(&a.sweep, what, row))?.0)
    })
}
