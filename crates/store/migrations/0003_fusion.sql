-- Fused training and its cost. fuse_key: runs with equal keys may train as
-- one batched model (NULL: never fused). fused: how many runs the training
-- call that trained this run held. flops: the run's training FLOPs.
-- train_seconds: wall time of that training call (shared within a group).

ALTER TABLE runs ADD COLUMN fuse_key TEXT;
ALTER TABLE runs ADD COLUMN fused BIGINT;
ALTER TABLE runs ADD COLUMN flops DOUBLE PRECISION;
ALTER TABLE runs ADD COLUMN train_seconds DOUBLE PRECISION;
CREATE INDEX runs_by_fuse_key ON runs (fuse_key);

-- Per sweep: finished runs, their FLOPs, the wall time from the first start
-- to the last finish, and the achieved rate over it.
CREATE VIEW v_throughput AS
SELECT s.sweep,
       COUNT(*) AS runs,
       SUM(r.flops) AS flops,
       (MAX(r.finished_ms) - MIN(r.started_ms)) / 1000.0 AS wall_s,
       SUM(r.flops) / NULLIF((MAX(r.finished_ms) - MIN(r.started_ms)) / 1000.0, 0) AS flops_per_s
FROM runs r JOIN sweep_runs s ON s.run = r.id
WHERE r.status = 'done'
GROUP BY s.sweep;
