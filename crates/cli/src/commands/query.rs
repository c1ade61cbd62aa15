use headsweep_report::TableFormat;
use headsweep_store::{Access, Store};

use super::report::{emit, emit_rows, to_table};
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
    emit_rows(None, format, |row| {
        Ok(rt.block_on(store.query_read_only_each(&a.sql, row))?.0)
    })
}
