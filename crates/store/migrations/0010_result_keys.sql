-- Result rows name their run by a small integer, `runs.key`, instead of its
-- 64-digit identity. A tiny run writes about 350 result rows, and each
-- carried the identity twice (in the row and in its primary key's index):
-- half of a store's size and of a run's write time. The tables keep their
-- names and columns as views (`run` is still the identity), so queries,
-- exports and reports read what they read before; the rows themselves live
-- in result_metrics, result_class_metrics, result_confusion_cells,
-- result_curves and result_predictions, keyed by `run_key`.
--
-- A new run's key is larger than every key before it (assigned when it is
-- registered, in the registering transaction); a store's existing runs are
-- numbered here in the order they were created.

ALTER TABLE runs ADD COLUMN key BIGINT;
UPDATE runs SET key = k.n
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_ms, id) AS n FROM runs) AS k
WHERE k.id = runs.id;
CREATE UNIQUE INDEX runs_by_key ON runs (key);

-- Views over the tables rebuilt below (PostgreSQL refuses to drop a table a
-- view reads); recreated at the end, unchanged.
DROP VIEW v_results;
DROP VIEW v_metrics;
DROP VIEW confusion;

CREATE TABLE result_metrics (
    run_key BIGINT NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    split   TEXT NOT NULL,
    head    TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   DOUBLE PRECISION,
    PRIMARY KEY (run_key, split, head, metric)
);
INSERT INTO result_metrics (run_key, split, head, metric, value)
SELECT r.key, m.split, m.head, m.metric, m.value
FROM metrics m JOIN runs r ON r.id = m.run;
DROP TABLE metrics;
CREATE VIEW metrics AS
SELECT r.id AS run, m.split, m.head, m.metric, m.value
FROM result_metrics m JOIN runs r ON r.key = m.run_key;

CREATE TABLE result_class_metrics (
    run_key     BIGINT NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    split       TEXT NOT NULL,
    head        TEXT NOT NULL,
    class_index BIGINT NOT NULL,
    class       TEXT NOT NULL,
    tp          BIGINT NOT NULL,
    fp          BIGINT NOT NULL,
    fn          BIGINT NOT NULL,
    tn          BIGINT NOT NULL,
    support     BIGINT NOT NULL,
    precision   DOUBLE PRECISION,
    recall      DOUBLE PRECISION,
    f1          DOUBLE PRECISION,
    PRIMARY KEY (run_key, split, head, class_index)
);
INSERT INTO result_class_metrics
    (run_key, split, head, class_index, class, tp, fp, fn, tn, support, precision, recall, f1)
SELECT r.key, c.split, c.head, c.class_index, c.class, c.tp, c.fp, c.fn, c.tn, c.support,
       c.precision, c.recall, c.f1
FROM class_metrics c JOIN runs r ON r.id = c.run;
DROP TABLE class_metrics;
CREATE VIEW class_metrics AS
SELECT r.id AS run, c.split, c.head, c.class_index, c.class, c.tp, c.fp, c.fn, c.tn, c.support,
       c.precision, c.recall, c.f1
FROM result_class_metrics c JOIN runs r ON r.key = c.run_key;

CREATE TABLE result_confusion_cells (
    run_key         BIGINT NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    split           TEXT NOT NULL,
    head            TEXT NOT NULL,
    true_class      BIGINT NOT NULL,
    predicted_class BIGINT NOT NULL,
    count           BIGINT NOT NULL,
    PRIMARY KEY (run_key, split, head, true_class, predicted_class)
);
INSERT INTO result_confusion_cells (run_key, split, head, true_class, predicted_class, count)
SELECT r.key, c.split, c.head, c.true_class, c.predicted_class, c.count
FROM confusion_cells c JOIN runs r ON r.id = c.run;
DROP TABLE confusion_cells;
CREATE VIEW confusion_cells AS
SELECT r.id AS run, c.split, c.head, c.true_class, c.predicted_class, c.count
FROM result_confusion_cells c JOIN runs r ON r.key = c.run_key;

CREATE TABLE result_curves (
    run_key BIGINT NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    epoch   BIGINT NOT NULL,
    split   TEXT NOT NULL,
    head    TEXT NOT NULL,
    metric  TEXT NOT NULL,
    value   DOUBLE PRECISION,
    PRIMARY KEY (run_key, epoch, split, head, metric)
);
INSERT INTO result_curves (run_key, epoch, split, head, metric, value)
SELECT r.key, c.epoch, c.split, c.head, c.metric, c.value
FROM curves c JOIN runs r ON r.id = c.run;
DROP TABLE curves;
CREATE VIEW curves AS
SELECT r.id AS run, c.epoch, c.split, c.head, c.metric, c.value
FROM result_curves c JOIN runs r ON r.key = c.run_key;

CREATE TABLE result_predictions (
    run_key         BIGINT NOT NULL REFERENCES runs (key) ON DELETE CASCADE,
    sample          TEXT NOT NULL,
    head            TEXT NOT NULL,
    true_class      BIGINT,
    predicted_class BIGINT NOT NULL,
    probabilities   TEXT NOT NULL,
    raw             TEXT NOT NULL,
    PRIMARY KEY (run_key, head, sample)
);
INSERT INTO result_predictions (run_key, sample, head, true_class, predicted_class, probabilities, raw)
SELECT r.key, p.sample, p.head, p.true_class, p.predicted_class, p.probabilities, p.raw
FROM predictions p JOIN runs r ON r.id = p.run;
DROP TABLE predictions;
CREATE VIEW predictions AS
SELECT r.id AS run, p.sample, p.head, p.true_class, p.predicted_class, p.probabilities, p.raw
FROM result_predictions p JOIN runs r ON r.key = p.run_key;

-- As in 0008, read from the keyed tables (one join to runs, not three).
CREATE VIEW confusion AS
SELECT r.id AS run, t.split, t.head, t.class_index AS true_class, p.class_index AS predicted_class,
       COALESCE(c.count, 0) AS count
FROM result_class_metrics t
JOIN runs r ON r.key = t.run_key
JOIN result_class_metrics p ON p.run_key = t.run_key AND p.split = t.split AND p.head = t.head
LEFT JOIN result_confusion_cells c ON c.run_key = t.run_key AND c.split = t.split AND c.head = t.head
    AND c.true_class = t.class_index AND c.predicted_class = p.class_index;

CREATE VIEW v_metrics AS
SELECT s.sweep, r.id AS run, r.seed, r.status, m.split, m.head, m.metric, m.value
FROM runs r JOIN sweep_runs s ON s.run = r.id JOIN result_metrics m ON m.run_key = r.key;

CREATE VIEW v_results AS
SELECT m.sweep, m.run, m.seed, m.status, a.axis, a.value AS axis_value, a.value_num AS axis_value_num,
       m.split, m.head, m.metric, m.value
FROM v_metrics m JOIN run_axes a ON a.sweep = m.sweep AND a.run = m.run;
