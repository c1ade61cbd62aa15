use headsweep_report::TableFormat;
use headsweep_store::{Access, Export, Store};

use super::report::{emit, to_table};
use crate::args::{ExportArgs, ExportFormat, ExportWhat};

pub fn run(a: ExportArgs) -> anyhow::Result<()> {
    let what = match a.what {
        ExportWhat::Runs => Export::Runs,
        ExportWhat::Metrics => Export::Metrics,
        ExportWhat::Classes => Export::Classes,
        ExportWhat::Confusion => Export::Confusion,
        ExportWhat::Curves => Export::Curves,
        ExportWhat::Predictions => Export::Predictions,
    };
    let rows = super::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        if !store.has_sweep(&a.sweep).await? {
            anyhow::bail!("no sweep named {:?} in {}", a.sweep, a.store.db);
        }
        anyhow::Ok(store.export(&a.sweep, what).await?)
    })?;
    let format = match a.format {
        ExportFormat::Csv => TableFormat::Csv,
        ExportFormat::Json => TableFormat::Json,
    };
    emit(a.out.as_deref(), &to_table(rows).render(format))
}
