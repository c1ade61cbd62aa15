-- Sweeps with a search: what each of a sweep's runs is there. 'run' is a
-- grid point on a seed (every run before this migration); 'trial' a search
-- trial, ranked on validation to choose its design's setting; 'evaluate' a
-- design's chosen setting trained on a fresh seed. `trial` numbers a
-- trial within its design (its `point`).
ALTER TABLE sweep_runs ADD COLUMN role TEXT NOT NULL DEFAULT 'run';
ALTER TABLE sweep_runs ADD COLUMN trial BIGINT;
