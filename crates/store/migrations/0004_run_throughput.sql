-- Per done run: its training FLOPs over its share of the training call's
-- wall time (a fused group's time split evenly among its runs).
CREATE VIEW v_run_throughput AS
SELECT s.sweep, r.id AS run, r.fused, r.flops, r.train_seconds,
       r.flops * r.fused / NULLIF(r.train_seconds, 0) AS flops_per_s
FROM runs r JOIN sweep_runs s ON s.run = r.id
WHERE r.status = 'done';
