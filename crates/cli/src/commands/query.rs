use std::io::Write;

use anyhow::Context;
use headsweep_report::{RowWriter, TableFormat};
use headsweep_store::{Access, Store};

use super::report::{emit, emit_with, to_table, to_value};
use super::runs::table_format;
use crate::args::QueryArgs;

/// CSV and JSON are written as the rows arrive, holding one at a time; the
/// aligned table needs every row for its column widths.
pub fn run(a: QueryArgs) -> anyhow::Result<()> {
    let format = table_format(a.format);
    let rt = super::runtime()?;
    let store = rt.block_on(Store::open_with(&a.store.db, Access::Read))?;
    if format == TableFormat::Text {
        let rows = rt.block_on(store.query_read_only(&a.sql))?;
        return emit(None, &to_table(rows).render(format));
    }
    emit_with(None, |out: &mut dyn Write| {
        let mut w = RowWriter::new(format, std::io::BufWriter::new(out)).expect("CSV or JSON");
        let (columns, _) = rt.block_on(store.query_read_only_each(&a.sql, |columns, cells| {
            w.row(
                columns,
                &cells.into_iter().map(to_value).collect::<Vec<_>>(),
            )
            .context("writing the result")
        }))?;
        w.finish(&columns).context("writing the result")?;
        Ok(())
    })
}
