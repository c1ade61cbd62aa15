-- Feature rankings that `headsweep explain` computed from a run's saved
-- weights, kept so that reports can show them without libtorch. One ranking
-- per run, head and method (the method text names the attribution method,
-- its reference and the class explained); a rerun of the run removes them.
CREATE TABLE attributions (
    run      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    head     TEXT NOT NULL,
    method   TEXT NOT NULL,
    rank     BIGINT NOT NULL,
    feature  TEXT NOT NULL,
    mean_abs DOUBLE PRECISION NOT NULL,
    mean     DOUBLE PRECISION NOT NULL,
    truth    TEXT,
    PRIMARY KEY (run, head, method, rank)
);
