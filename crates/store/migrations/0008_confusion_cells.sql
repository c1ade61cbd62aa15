-- Confusion matrices keep their nonzero cells only: a dense matrix of an
-- 18-class head on three splits was 972 rows per run, most of them zeros,
-- and most of a store's size and of a tiny run's write time. `confusion`
-- stays, as a view with every cell, zeros included (the class count of a
-- head on a split is its number of class_metrics rows), so queries and
-- exports read what they read before.
CREATE TABLE confusion_cells (
    run             TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    split           TEXT NOT NULL,
    head            TEXT NOT NULL,
    true_class      BIGINT NOT NULL,
    predicted_class BIGINT NOT NULL,
    count           BIGINT NOT NULL,
    PRIMARY KEY (run, split, head, true_class, predicted_class)
);

INSERT INTO confusion_cells (run, split, head, true_class, predicted_class, count)
SELECT run, split, head, true_class, predicted_class, count FROM confusion WHERE count <> 0;

DROP TABLE confusion;

CREATE VIEW confusion AS
SELECT t.run, t.split, t.head, t.class_index AS true_class, p.class_index AS predicted_class,
       COALESCE(c.count, 0) AS count
FROM class_metrics t
JOIN class_metrics p ON p.run = t.run AND p.split = t.split AND p.head = t.head
LEFT JOIN confusion_cells c ON c.run = t.run AND c.split = t.split AND c.head = t.head
    AND c.true_class = t.class_index AND c.predicted_class = p.class_index;
