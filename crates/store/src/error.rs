/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("cannot migrate the store at {url}: {source}")]
    Migrate {
        url: String,
        source: sqlx::migrate::MigrateError,
    },
    /// A store migrated by a newer version, opened to write.
    #[error("the store at {url} was written by a newer headsweep (its migration {version} is unknown to this one): use that version or a later one")]
    Newer { url: String, version: i64 },
    #[error("store: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("cannot create the store's folder {path}: {source}")]
    Folder {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("query failed (the store is opened read-only): {source}")]
    Query { source: sqlx::Error },
    #[error("{0:?} is not a run identity or a prefix of at least 8 hex digits")]
    RunPrefix(String),
    #[error("query refused: {0}; `query` runs one read-only statement (SELECT, WITH, VALUES, EXPLAIN, or a pragma that reads)")]
    NotReadOnly(String),
    #[error("no store at {}", .0.display())]
    Missing(std::path::PathBuf),
    #[error("cannot open the store at {url}: no answer within {seconds} s (HEADSWEEP_CONNECT_TIMEOUT sets the limit)")]
    Timeout { url: String, seconds: f64 },
    /// A name read from the store that cannot become part of a path.
    #[error("the store holds {0}; refused before building any path from it")]
    Name(#[from] headsweep_spec::NameError),
    #[error("the store's folder name {0:?} is not hex; refused before building any path from it")]
    FilesId(String),
    /// A run status written by another version.
    #[error("the store holds a run status this version does not know: {0}")]
    Status(#[from] headsweep_spec::UnknownStatus),
    /// A run registered by something other than headsweep, without the
    /// key its results are stored under.
    #[error("run {0} has no key in the store (runs.key); register it with `headsweep run`")]
    NoKey(String),
    /// A run role written by another version.
    #[error("the store holds a run role this version does not know: {0}")]
    Role(#[from] headsweep_spec::UnknownRole),
}

impl StoreError {
    /// Whether the store could not be written for a reason of the machine:
    /// SQLite's "database or disk is full", I/O errors, a read-only file,
    /// or an I/O error on the connection.
    pub fn is_environment(&self) -> bool {
        let sql = match self {
            StoreError::Sql(e) | StoreError::Query { source: e } => e,
            StoreError::Open { source, .. } => source,
            StoreError::Folder { .. } => return true,
            _ => return false,
        };
        match sql {
            sqlx::Error::Io(_) => true,
            sqlx::Error::Database(d) => d
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                // SQLITE_IOERR, SQLITE_READONLY, SQLITE_FULL, SQLITE_CANTOPEN
                // (extended codes keep the primary code in the low byte).
                .is_some_and(|c| matches!(c & 0xff, 10 | 8 | 13 | 14)),
            _ => false,
        }
    }
}
