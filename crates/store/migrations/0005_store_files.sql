-- Facts about the store itself. `id`: a random name for the folder that
-- holds this store's files (run weights and logs, worker logs) under the
-- results folder, so that two stores sharing a results folder never share
-- or delete each other's files; written on the first read-write open.
-- `files` = 'shared': the store had runs before this migration, and its
-- files stay where they were (results/runs/RUN, possibly shared with other
-- stores of the same folder, so `rm` leaves them).
CREATE TABLE store_info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO store_info (key, value)
SELECT 'files', 'shared' WHERE EXISTS (SELECT 1 FROM runs);
