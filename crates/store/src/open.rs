use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

use crate::StoreError;

/// How long a connection waits for SQLite's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a writer waiting for SQLite's write lock sleeps between tries.
const WRITE_RETRY: Duration = Duration::from_millis(1);

/// Whether SQLite said the database is locked by another connection
/// (SQLITE_BUSY, extended codes included).
fn is_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.code().and_then(|c| c.parse::<i64>().ok()).is_some_and(|c| c & 0xff == 5))
}

/// How every read-write SQLite connection is set up: WAL (readers go on
/// while one process writes), foreign keys, `synchronous = NORMAL`, and a
/// busy timeout of `busy` (zero: no busy handler).
async fn sqlite_settings(
    conn: &mut sqlx::AnyConnection,
    busy: Duration,
) -> Result<(), sqlx::Error> {
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute(format!("PRAGMA busy_timeout = {}", busy.as_millis()).as_str())
        .await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    Ok(())
}

/// A pool that never reaps idle or old connections. sqlx 0.8's reaper
/// can read the pool's idle count while a release and an acquire race
/// (the count is briefly below zero, so about 2^64) and then loop without
/// yielding, holding a runtime thread for good (sqlx issue 3645): a
/// worker hung at 100% CPU. Reaping is worth little here: a process
/// holds at most eight connections.
fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new().idle_timeout(None).max_lifetime(None)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long opening a PostgreSQL store waits for the server, unless
/// `HEADSWEEP_CONNECT_TIMEOUT` (seconds) says otherwise.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a command needs of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read and write; an SQLite file and its folder are created if absent.
    Create,
    /// Read and write a store that exists (a worker, `rm`).
    Existing,
    /// For reading: nothing is created. An SQLite store the user cannot
    /// write (read-only media or folder) is opened read-only and immutable,
    /// without migrations, and read as it is; one that can be written is
    /// opened read-write and migrated, so that an older store reads with
    /// today's views (nothing else is written). PostgreSQL stores are not
    /// migrated.
    Read,
}

/// An open store (migrated unless opened for reading only).
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// On SQLite, the connection write transactions take (see
    /// [`Store::begin_write`]); connected on first use.
    writer: Option<AnyPool>,
    url: String,
    pub(crate) sqlite: bool,
    access: Access,
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

/// The connect timeout: `HEADSWEEP_CONNECT_TIMEOUT` seconds, else
/// [`CONNECT_TIMEOUT`].
fn connect_timeout() -> Duration {
    std::env::var("HEADSWEEP_CONNECT_TIMEOUT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(CONNECT_TIMEOUT, Duration::from_secs_f64)
}

/// Whether SQLite can write `path` and the folder its journal goes in.
fn writable(path: &std::path::Path) -> bool {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let ok = |p: &std::path::Path| {
        std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
            // SAFETY: a valid NUL-terminated path; access(2) only reads it.
            .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0)
    };
    ok(path) && ok(dir)
}

impl Store {
    /// Opens the store named by `db` — a `sqlite:` or `postgres://` URL, or
    /// a path to an SQLite file — read-write, creating an SQLite file and
    /// its folder when absent. Migrations run on open.
    pub async fn open(db: &str) -> Result<Store, StoreError> {
        Store::open_with(db, Access::Create).await
    }

    /// Opens the store named by `db` as `access` asks. Fails at once, in
    /// one line naming the file or server and the cause, when the store
    /// cannot be opened: a missing file (unless created), a file that is
    /// not an SQLite database or is damaged, a server that does not answer
    /// within the connect timeout.
    pub async fn open_with(db: &str, access: Access) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let file = sqlite_path(db);
        let sqlite = file.is_some();
        let requested = access;
        let mut access = access;
        let url = match &file {
            None => db.to_string(),
            Some(path) => {
                if access != Access::Create && !path.exists() {
                    return Err(StoreError::Missing(path.clone()));
                }
                if access == Access::Create {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                            path: dir.to_path_buf(),
                            source,
                        })?;
                    }
                }
                // A store that cannot be written is still read, as immutable:
                // SQLite then needs no journal or lock files beside it.
                if access == Access::Read && !writable(path) {
                    format!("sqlite://{}?mode=ro&immutable=1", path.display())
                } else {
                    if access == Access::Read {
                        access = Access::Existing;
                    }
                    let mode = if access == Access::Create {
                        "rwc"
                    } else {
                        "rw"
                    };
                    format!("sqlite://{}?mode={mode}", path.display())
                }
            }
        };
        let shown = match &file {
            Some(path) => path.display().to_string(),
            None => redact(db),
        };
        let open_err = |source| StoreError::Open {
            url: shown.clone(),
            source,
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(open_err)?
            .disable_statement_logging();
        let read_only = url.contains("mode=ro");
        // One connection first, so that a cause is reported at once instead
        // of the pool retrying until its timeout.
        let probe = async {
            let mut conn = options.connect().await?;
            if sqlite && !read_only {
                // Another process may be creating the same store: wait for
                // its lock as the pool's connections do.
                conn.execute(
                    format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis()).as_str(),
                )
                .await?;
            }
            // Reads the schema: "file is not a database" and damage show here.
            conn.execute(if sqlite {
                "SELECT COUNT(*) FROM sqlite_master"
            } else {
                "SELECT 1"
            })
            .await?;
            conn.close().await
        };
        let timeout = if sqlite {
            BUSY_TIMEOUT
        } else {
            connect_timeout()
        };
        match tokio::time::timeout(timeout, probe).await {
            Ok(r) => r.map_err(open_err)?,
            Err(_) => {
                return Err(StoreError::Timeout {
                    url: shown,
                    seconds: timeout.as_secs_f64(),
                })
            }
        }
        let pool = pool_options()
            .max_connections(if sqlite { 4 } else { 8 })
            .acquire_timeout(BUSY_TIMEOUT * 2)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if sqlite && !read_only {
                        // The busy timeout makes writers queue instead of
                        // failing.
                        sqlite_settings(conn, BUSY_TIMEOUT).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(open_err)?;
        let writer = (sqlite && !read_only).then(|| {
            pool_options()
                .max_connections(1)
                .acquire_timeout(BUSY_TIMEOUT * 2)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // No busy handler: `begin_write` waits for the lock.
                        sqlite_settings(conn, Duration::ZERO).await
                    })
                })
                .connect_lazy_with(options)
        });
        let store = Store {
            pool,
            writer,
            url: db.to_string(),
            sqlite,
            access,
        };
        if access == Access::Read {
            return Ok(store);
        }
        match store.migrate(&shown).await {
            // A newer version's store is read as it is: its tables and views
            // are a newer version's, which reads as before.
            Err(StoreError::Newer { .. }) if requested == Access::Read => return Ok(store),
            done => done?,
        }
        // A read names no folder: that is the first writing command's to do.
        if requested != Access::Read {
            store.name_files().await?;
        }
        Ok(store)
    }

    async fn migrate(&self, shown: &str) -> Result<(), StoreError> {
        let (pool, sqlite) = (&self.pool, self.sqlite);
        // SQLite has no migration lock: processes opening a new store at the
        // same moment race to create it. The loser's migration transaction
        // rolls back whole, and a retry finds the work done.
        let mut attempt = 0;
        loop {
            match MIGRATOR.run(pool).await {
                Ok(()) => break,
                // A store that a newer headsweep migrated: retrying cannot
                // help, and the plain error does not say what to do.
                Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
                    return Err(StoreError::Newer {
                        url: shown.to_string(),
                        version,
                    })
                }
                // What losing the race looks like: a statement failed.
                Err(
                    sqlx::migrate::MigrateError::Execute(_)
                    | sqlx::migrate::MigrateError::ExecuteMigration(..),
                ) if sqlite && attempt < 10 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                }
                Err(source) => {
                    return Err(StoreError::Migrate {
                        url: shown.to_string(),
                        source,
                    })
                }
            }
        }
        Ok(())
    }

    /// Whether the store was opened for reading only.
    pub fn access(&self) -> Access {
        self.access
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
    ///
    /// On SQLite the wait for the lock is ours, not SQLite's: its busy
    /// handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, … ms between tries, so
    /// that two workers taking turns at a lock held for a few milliseconds
    /// slept through much of their wait (tiny runs on two workers: 3.5 s
    /// of such sleeps in a 2.5 s sweep). Write transactions take a
    /// connection of their own, without a busy handler, and try again
    /// every [`WRITE_RETRY`] within the same [`BUSY_TIMEOUT`]; within a
    /// process they queue for that connection, woken as soon as it is
    /// free.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        let Some(writer) = &self.writer else {
            return Ok(self.pool.begin().await?);
        };
        let give_up = std::time::Instant::now() + BUSY_TIMEOUT;
        loop {
            match writer.begin_with("BEGIN IMMEDIATE").await {
                Err(e) if is_busy(&e) && std::time::Instant::now() < give_up => {
                    tokio::time::sleep(WRITE_RETRY).await;
                }
                begun => return Ok(begun?),
            }
        }
    }

    pub async fn close(&self) {
        if let Some(writer) = &self.writer {
            writer.close().await;
        }
        self.pool.close().await;
    }
}

/// A store's URL fit to print: a PostgreSQL password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact("postgres://alice:s3cr@t@db.lab:5432/hs"),
            "postgres://alice:***@db.lab:5432/hs"
        );
        assert_eq!(redact("postgres://db/hs"), "postgres://db/hs");
        assert_eq!(redact("results/headsweep.db"), "results/headsweep.db");
    }
}
