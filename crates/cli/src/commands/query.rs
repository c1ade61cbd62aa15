use headsweep_store::Store;

use super::report::{emit, to_table};
use super::runs::table_format;
use crate::args::QueryArgs;

pub fn run(a: QueryArgs) -> anyhow::Result<()> {
    let rows = super::runtime()?.block_on(async {
        let store = Store::open(&a.store.db).await?;
        anyhow::Ok(store.query_read_only(&a.sql).await?)
    })?;
    emit(None, &to_table(rows).render(table_format(a.format)))
}
