//! Where a store's files live under a results folder.
//!
//! Each store has a folder of its own, `RESULTS/stores/ID/`, named by a
//! random identity kept in the store (`store_info.id`): run folders
//! (`runs/RUN/`: weights, training log) and worker logs (`workers/`). Two
//! stores that share a results folder therefore never share a file, and
//! `rm` on one cannot remove another's. Stores that had runs before this
//! layout keep theirs where they were (`RESULTS/runs/RUN/`), where files may
//! be shared with other such stores; `rm` leaves those and says so.

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

use headsweep_spec::{check_run_id, check_sweep_name};
use sqlx::Row;

use crate::{Store, StoreError};

/// Where one store keeps its files under one results folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFiles {
    results: PathBuf,
    /// `None`: the shared layout of stores made before store folders.
    id: Option<String>,
}

impl StoreFiles {
    /// Files in a folder that belongs to this store alone.
    pub fn own(results: &Path, id: &str) -> StoreFiles {
        StoreFiles {
            results: results.to_path_buf(),
            id: Some(id.to_string()),
        }
    }

    /// The layout of stores made before store folders: files directly under
    /// the results folder, possibly shared with other stores.
    pub fn shared(results: &Path) -> StoreFiles {
        StoreFiles {
            results: results.to_path_buf(),
            id: None,
        }
    }

    /// Whether the files belong to this store alone (so `rm` may delete
    /// them).
    pub fn owned(&self) -> bool {
        self.id.is_some()
    }

    /// The store's own folder, or the results folder in the shared layout.
    pub fn root(&self) -> PathBuf {
        match &self.id {
            Some(id) => self.results.join("stores").join(id),
            None => self.results.clone(),
        }
    }

    /// The folder that holds one folder per run.
    pub fn runs(&self) -> PathBuf {
        self.root().join("runs")
    }

    /// A run's folder; the identity is checked first, so that a crafted one
    /// read from a store can never name a path outside [`Self::runs`].
    pub fn run(&self, id: &str) -> Result<PathBuf, StoreError> {
        check_run_id(id)?;
        Ok(self.runs().join(id))
    }

    /// Prepared data sets that workers memory-map (see `headsweep_data`'s
    /// cache).
    pub fn data_cache(&self) -> PathBuf {
        self.root().join("data-cache")
    }

    /// Training states a pruned search's promoted trials continue from,
    /// one folder per trajectory (named by a hash, never by stored text).
    pub fn states(&self) -> PathBuf {
        self.root().join("states")
    }

    /// Worker logs.
    pub fn workers(&self) -> PathBuf {
        self.root().join("workers")
    }

    /// A folder for one sweep's files (e.g. its Slurm script and logs); the
    /// name is checked first.
    pub fn sweep(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_sweep_name(name)?;
        Ok(self.root().join("sweeps").join(name))
    }
}

/// 128 random bits as hex, from the operating system's randomness (the
/// standard library seeds its hash keys from it), without a new dependency.
fn random_id() -> String {
    let mut out = String::new();
    for _ in 0..2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        out += &format!("{:016x}", h.finish());
    }
    out
}

impl Store {
    /// Gives the store its folder name if it has none (a new store; old
    /// stores get one too, used only when they have no runs yet).
    pub(crate) async fn name_files(&self) -> Result<(), StoreError> {
        let id = random_id();
        sqlx::query(
            "INSERT INTO store_info (key, value) VALUES ('id', $1) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Where this store's files live under `results`.
    pub async fn files(&self, results: &Path) -> Result<StoreFiles, StoreError> {
        // A store opened read-only may predate the table.
        let rows = match sqlx::query("SELECT key, value FROM store_info")
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => rows,
            Err(_) => return Ok(StoreFiles::shared(results)),
        };
        let get = |k: &str| {
            rows.iter()
                .find(|r| r.get::<String, _>(0) == k)
                .map(|r| r.get::<String, _>(1))
        };
        Ok(match (get("files").as_deref(), get("id")) {
            (Some("shared"), _) | (_, None) => StoreFiles::shared(results),
            (_, Some(id)) => {
                // The id names a folder: refuse anything but hex.
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(StoreError::FilesId(id));
                }
                StoreFiles::own(results, &id)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_store_folder() {
        let f = StoreFiles::own(Path::new("/r"), "ab12");
        let id = "0123456789abcdef".repeat(4);
        assert_eq!(
            f.run(&id).unwrap(),
            PathBuf::from(format!("/r/stores/ab12/runs/{id}"))
        );
        assert!(f.run("../../../etc").is_err());
        assert!(f.sweep("..").is_err());
        assert_eq!(
            f.sweep("tiny").unwrap(),
            PathBuf::from("/r/stores/ab12/sweeps/tiny")
        );
        let old = StoreFiles::shared(Path::new("/r"));
        assert_eq!(
            old.run(&id).unwrap(),
            PathBuf::from(format!("/r/runs/{id}"))
        );
        assert!(!old.owned());
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id(), random_id());
        assert_eq!(random_id().len(), 32);
    }
}
