//! Run identity: a hash of the resolved configuration.
//!
//! The hashed document is the run's configuration as JSON with
//! - every key left at its default omitted, so that adding a setting with a
//!   default later leaves existing identities unchanged;
//! - the sweep's name left out, so the same run in another sweep file is
//!   recognised as the same run;
//! - data files replaced by the hash of their content, so moving a file does
//!   not change a run and editing one does;
//! - [`IDENTITY_SCHEMA`] inside, to be bumped whenever an existing default
//!   changes (which would otherwise give a different run the old identity).

use std::path::Path;

use serde_json::{Map, Value};

use crate::config::{DataConfig, ModelConfig, RunConfig, TaskConfig, TrainConfig};

/// Bump when an existing default changes meaning or value, or when the
/// same configuration would give different results (2: the split puts
/// every class in the test and validation parts where it can).
pub const IDENTITY_SCHEMA: u64 = 2;

/// Hex digits of an identity; prefixes of at least 8 name a run.
pub const IDENTITY_LEN: usize = 64;

fn default_task() -> TaskConfig {
    TaskConfig::named("")
}

/// Removes from `v` every object key whose value equals `default`'s.
fn strip(v: &mut Value, default: &Value) {
    if let (Value::Object(map), Value::Object(def)) = (v, default) {
        map.retain(|k, val| def.get(k) != Some(val));
        for (k, val) in map.iter_mut() {
            if let Some(d) = def.get(k) {
                strip(val, d);
            }
        }
    }
}

impl RunConfig {
    /// What the run trains, apart from for how long: its configuration as
    /// JSON with `train.epochs` and the sweep's name left out. Two runs with
    /// the same trajectory and the same data train their common epochs
    /// alike, so the longer can continue from the shorter's saved state.
    /// That holds because no setting depends on the epoch budget; a setting
    /// that did (a schedule over the whole budget) would have to keep
    /// `train.epochs` in here.
    pub fn trajectory(&self) -> String {
        let mut c = self.clone();
        c.sweep = String::new();
        c.train.epochs = 0;
        serde_json::to_string(&c).expect("a configuration serialises")
    }

    /// The canonical document whose hash is the run's identity.
    /// `file_hash` gives the content hash of a data file.
    pub fn identity_document<E>(
        &self,
        mut file_hash: impl FnMut(&Path) -> Result<String, E>,
    ) -> Result<Value, E> {
        let section = |v: Value, d: Value| {
            let mut v = v;
            strip(&mut v, &d);
            v
        };
        let mut data = section(json(&self.data), json(&DataConfig::default()));
        for key in ["features", "labels", "ids", "feature_names"] {
            let path = match key {
                "features" => &self.data.features,
                "labels" => &self.data.labels,
                "ids" => &self.data.ids,
                _ => &self.data.feature_names,
            };
            if let (Some(p), Value::Object(m)) = (path, &mut data) {
                m.insert(
                    key.to_string(),
                    Value::String(format!("blake3:{}", file_hash(p)?)),
                );
            }
        }
        if let (Some(crate::config::Select::Features(p)), Value::Object(m)) =
            (&self.data.select, &mut data)
        {
            m.insert(
                "select".to_string(),
                serde_json::json!({ "features": format!("blake3:{}", file_hash(p)?) }),
            );
        }
        let tasks: Vec<Value> = self
            .tasks
            .iter()
            .map(|t| section(json(t), json(&default_task())))
            .collect();
        let mut doc = Map::new();
        doc.insert("schema".into(), IDENTITY_SCHEMA.into());
        doc.insert("seed".into(), self.seed.into());
        doc.insert("data".into(), data);
        doc.insert("tasks".into(), Value::Array(tasks));
        doc.insert(
            "model".into(),
            section(json(&self.model), json(&ModelConfig::default())),
        );
        doc.insert(
            "train".into(),
            section(json(&self.train), json(&TrainConfig::default())),
        );
        Ok(Value::Object(doc))
    }

    /// The run's identity: BLAKE3 of [`Self::identity_document`], hex.
    pub fn identity<E>(
        &self,
        file_hash: impl FnMut(&Path) -> Result<String, E>,
    ) -> Result<String, E> {
        let doc = self.identity_document(file_hash)?;
        Ok(blake3::hash(doc.to_string().as_bytes())
            .to_hex()
            .to_string())
    }
}

fn json<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).expect("configs serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SweepFile;

    const FILE: &str = r#"
[sweep]
name = "a"
seeds = [1, 2]
[data]
features = "x.csv"
labels = "y.csv"
[[tasks]]
name = "sex"
[model]
trunk = [256, 128]
dropout = 0.3
"#;

    fn id_of(text: &str, path: &str, content: &str) -> String {
        let run = SweepFile::parse(Path::new(path), text).unwrap().first_run();
        run.identity(|p| {
            Ok::<_, ()>(format!(
                "{}:{content}",
                p.file_name().unwrap().to_string_lossy()
            ))
        })
        .unwrap()
    }

    #[test]
    fn defaults_are_omitted_from_the_document() {
        let run = SweepFile::parse(Path::new("a.toml"), FILE)
            .unwrap()
            .first_run();
        let doc = run.identity_document(|_| Ok::<_, ()>("h".into())).unwrap();
        // trunk is at its default, dropout is not; train is all defaults.
        assert_eq!(doc["model"], serde_json::json!({ "dropout": 0.3 }));
        assert_eq!(doc["train"], serde_json::json!({}));
        assert_eq!(doc["tasks"], serde_json::json!([{ "name": "sex" }]));
        assert_eq!(
            doc["data"],
            serde_json::json!({ "features": "blake3:h", "labels": "blake3:h" })
        );
        assert_eq!(doc["schema"], IDENTITY_SCHEMA);
        assert_eq!(doc["seed"], 1);
    }

    #[test]
    fn identity_ignores_sweep_name_path_and_explicit_defaults() {
        let base = id_of(FILE, "exp/a.toml", "v1");
        assert_eq!(base.len(), IDENTITY_LEN);
        assert_eq!(
            base,
            id_of(
                &FILE.replace("name = \"a\"", "name = \"b\""),
                "exp/a.toml",
                "v1"
            )
        );
        assert_eq!(
            base,
            id_of(FILE, "elsewhere/b.toml", "v1"),
            "files hashed by content, not path"
        );
        assert_eq!(
            base,
            id_of(
                &FILE.replace("[model]", "[model]\nhead_depth = 0"),
                "exp/a.toml",
                "v1"
            )
        );
        assert_eq!(
            base,
            id_of(
                &format!("{FILE}\n[train]\nlr = 0.001\n"),
                "exp/a.toml",
                "v1"
            )
        );
    }

    #[test]
    fn identity_changes_with_any_setting_seed_or_data() {
        let base = id_of(FILE, "exp/a.toml", "v1");
        assert_ne!(base, id_of(FILE, "exp/a.toml", "v2"), "data content");
        assert_ne!(
            base,
            id_of(
                &FILE.replace("seeds = [1, 2]", "seeds = [2]"),
                "exp/a.toml",
                "v1"
            )
        );
        assert_ne!(
            base,
            id_of(
                &FILE.replace("dropout = 0.3", "dropout = 0.2"),
                "exp/a.toml",
                "v1"
            )
        );
        assert_ne!(
            base,
            id_of(&format!("{FILE}\n[train]\nlr = 0.01\n"), "exp/a.toml", "v1")
        );
    }
}
