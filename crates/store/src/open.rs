use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

use crate::StoreError;

/// How long a connection waits for SQLite's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An open, migrated store.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    url: String,
    sqlite: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("url", &self.url).finish()
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The file of an SQLite store named by `db` (a path or a `sqlite:` URL);
/// `None` for a PostgreSQL URL.
pub fn sqlite_path(db: &str) -> Option<PathBuf> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return None;
    }
    Some(PathBuf::from(
        db.strip_prefix("sqlite://")
            .or_else(|| db.strip_prefix("sqlite:"))
            .unwrap_or(db),
    ))
}

impl Store {
    /// Opens the store named by `db`: a `sqlite:` or `postgres://` URL, or a
    /// path to an SQLite file (created with its folder when absent).
    /// Migrations run on open.
    pub async fn open(db: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let file = sqlite_path(db);
        let sqlite = file.is_some();
        let url = match &file {
            None => db.to_string(),
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                        path: dir.to_path_buf(),
                        source,
                    })?;
                }
                format!("sqlite://{}?mode=rwc", path.display())
            }
        };
        let open_err = |source| StoreError::Open {
            url: db.to_string(),
            source,
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(open_err)?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(if sqlite { 4 } else { 8 })
            .acquire_timeout(BUSY_TIMEOUT * 2)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite {
                        // WAL lets readers go on while one process writes; the
                        // busy timeout makes writers queue instead of failing.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(
                            format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()).as_str(),
                        )
                        .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open_err)?;
        // SQLite has no migration lock: processes opening a new store at the
        // same moment race to create it. The loser's migration transaction
        // rolls back whole, and a retry finds the work done.
        let mut attempt = 0;
        loop {
            match MIGRATOR.run(&pool).await {
                Ok(()) => break,
                Err(_) if sqlite && attempt < 10 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(source) => {
                    return Err(StoreError::Migrate {
                        url: db.to_string(),
                        source,
                    })
                }
            }
        }
        Ok(Store {
            pool,
            url: db.to_string(),
            sqlite,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    /// The SQLite file (meaningful only when [`Self::is_sqlite`]).
    pub(crate) fn sqlite_file(&self) -> PathBuf {
        sqlite_path(&self.url).unwrap_or_default()
    }

    /// A transaction that holds the write lock from its first statement
    /// (SQLite's `BEGIN IMMEDIATE`): a deferred transaction that later
    /// writes gets SQLITE_BUSY at once instead of waiting out the timeout.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(if self.sqlite {
            self.pool.begin_with("BEGIN IMMEDIATE").await?
        } else {
            self.pool.begin().await?
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
