use headsweep_store::{Access, Store};

use super::report::{emit, to_table};
use super::runs::table_format;
use crate::args::QueryArgs;

pub fn run(a: QueryArgs) -> anyhow::Result<()> {
    let rows = super::runtime()?.block_on(async {
        let store = Store::open_with(&a.store.db, Access::Read).await?;
        anyhow::Ok(store.query_read_only(&a.sql).await?)
    })?;
    emit(None, &to_table(rows).render(table_format(a.format)))
}
