-- Where and how a run was trained, so that two reproductions can be told
-- apart: a JSON object written with the run's results (docs/store.md).
ALTER TABLE runs ADD COLUMN provenance TEXT;
