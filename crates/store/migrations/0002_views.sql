-- Views for `headsweep query`, documented in docs/store.md.

CREATE VIEW v_runs AS
SELECT s.sweep, r.id AS run, s.point, s.position, r.seed, r.status, r.device, r.host, r.threads,
       r.parameters, r.best_epoch, r.epochs_run, r.duration_s, r.error
FROM runs r JOIN sweep_runs s ON s.run = r.id;

CREATE VIEW v_axes AS
SELECT sweep, run, axis, value, value_num FROM run_axes;

CREATE VIEW v_metrics AS
SELECT s.sweep, r.id AS run, r.seed, r.status, m.split, m.head, m.metric, m.value
FROM runs r JOIN sweep_runs s ON s.run = r.id JOIN metrics m ON m.run = r.id;

CREATE VIEW v_results AS
SELECT m.sweep, m.run, m.seed, m.status, a.axis, a.value AS axis_value, a.value_num AS axis_value_num,
       m.split, m.head, m.metric, m.value
FROM v_metrics m JOIN run_axes a ON a.sweep = m.sweep AND a.run = m.run;
