-- The result store. Every column is documented in docs/store.md.
-- Written in SQL that SQLite and PostgreSQL both accept. Times are UTC
-- milliseconds since the Unix epoch (BIGINT).

CREATE TABLE sweeps (
    name         TEXT PRIMARY KEY,
    file_path    TEXT NOT NULL,
    file_text    TEXT NOT NULL,
    axes         TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    updated_ms   BIGINT NOT NULL,
    code_version TEXT NOT NULL,
    host         TEXT NOT NULL
);

CREATE TABLE runs (
    id               TEXT PRIMARY KEY,
    config           TEXT NOT NULL,
    seed             BIGINT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'running', 'done', 'failed')),
    device           TEXT,
    host             TEXT,
    worker           TEXT,
    pid              BIGINT,
    lease_expires_ms BIGINT,
    started_ms       BIGINT,
    finished_ms      BIGINT,
    duration_s       DOUBLE PRECISION,
    threads          BIGINT,
    error            TEXT,
    parameters       BIGINT,
    best_epoch       BIGINT,
    epochs_run       BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    code_version     TEXT,
    created_ms       BIGINT NOT NULL
);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE sweep_runs (
    sweep    TEXT NOT NULL REFERENCES sweeps (name) ON DELETE CASCADE,
    run      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    point    BIGINT NOT NULL,
    PRIMARY KEY (sweep, run)
);
CREATE INDEX sweep_runs_by_run ON sweep_runs (run);

CREATE TABLE run_axes (
    sweep     TEXT NOT NULL,
    run       TEXT NOT NULL,
    axis      TEXT NOT NULL,
    value     TEXT NOT NULL,
    value_num DOUBLE PRECISION,
    PRIMARY KEY (sweep, run, axis),
    FOREIGN KEY (sweep, run) REFERENCES sweep_runs (sweep, run) ON DELETE CASCADE
);

CREATE TABLE metrics (
    run    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split  TEXT NOT NULL,
    head   TEXT NOT NULL,
    metric TEXT NOT NULL,
    value  DOUBLE PRECISION,
    PRIMARY KEY (run, split, head, metric)
);

CREATE TABLE class_metrics (
    run         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
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
    PRIMARY KEY (run, split, head, class_index)
);

CREATE TABLE confusion (
    run             TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split           TEXT NOT NULL,
    head            TEXT NOT NULL,
    true_class      BIGINT NOT NULL,
    predicted_class BIGINT NOT NULL,
    count           BIGINT NOT NULL,
    PRIMARY KEY (run, split, head, true_class, predicted_class)
);

CREATE TABLE curves (
    run    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    epoch  BIGINT NOT NULL,
    split  TEXT NOT NULL,
    head   TEXT NOT NULL,
    metric TEXT NOT NULL,
    value  DOUBLE PRECISION,
    PRIMARY KEY (run, epoch, split, head, metric)
);

CREATE TABLE predictions (
    run             TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    sample          TEXT NOT NULL,
    head            TEXT NOT NULL,
    true_class      BIGINT,
    predicted_class BIGINT NOT NULL,
    probabilities   TEXT NOT NULL,
    raw             TEXT NOT NULL,
    PRIMARY KEY (run, head, sample)
);
