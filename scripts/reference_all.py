"""The linear baseline for the ALL section of the results page: L2
logistic regression, one per head, on the same splits as the networks.

For each data.seed of the all_leukemia sweep, the test samples are the ones
the store holds test predictions for; every other sample is for fitting.
On those, as the networks do on their training split: the 2,000 probe sets
of largest variance, standardised with their mean and deviation. C is
chosen by 5-fold cross-validation within the fitting samples (balanced
accuracy), so the test samples inform nothing. Prints a Markdown table:
per head, accuracy and balanced accuracy, and the joint exact match (over
test samples labelled in every head), mean ± standard deviation over the
splits, n = the number of splits.

    python scripts/reference_all.py results/data/all results/age_sex_heads.db
"""
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import accuracy_score, balanced_accuracy_score

HEADS = ["lineage", "sex", "subtype"]
KEEP = 2000


def main(data_dir, db):
    x = pd.read_csv(Path(data_dir) / "expression.tsv.gz", sep="\t", index_col=0).T
    x.index = x.index.astype(str)
    sheet = pd.read_csv(Path(data_dir) / "samples.tsv", sep="\t", dtype=str).set_index("id")
    con = sqlite3.connect(db)
    tests = pd.read_sql_query(
        """SELECT DISTINCT a.value AS split, p.sample FROM predictions p
           JOIN run_axes a ON a.run = p.run AND a.sweep = 'all_leukemia' AND a.axis = 'data.seed'""",
        con,
    )
    rows = []
    for split, group in tests.groupby("split"):
        test = set(group["sample"])
        fit = [s for s in x.index if s not in test]
        tst = [s for s in x.index if s in test]
        var = x.loc[fit].var(axis=0, ddof=0)
        cols = var.sort_values(ascending=False, kind="stable").index[:KEEP]
        mu, sd = x.loc[fit, cols].mean(), x.loc[fit, cols].std(ddof=0).replace(0, 1)
        xf, xt = (x.loc[fit, cols] - mu) / sd, (x.loc[tst, cols] - mu) / sd
        out = {"split": split}
        right = pd.Series(True, index=tst)
        labelled = pd.Series(True, index=tst)
        for head in HEADS:
            yf = sheet.loc[fit, head].dropna()
            yt = sheet.loc[tst, head]
            model = LogisticRegressionCV(
                Cs=np.logspace(-4, 2, 7), cv=5, scoring="balanced_accuracy", max_iter=5000
            ).fit(xf.loc[yf.index], yf)
            have = yt.dropna().index
            pred = pd.Series(model.predict(xt.loc[have]), index=have)
            out[f"{head}.accuracy"] = accuracy_score(yt[have], pred)
            out[f"{head}.balanced_accuracy"] = balanced_accuracy_score(yt[have], pred)
            labelled &= yt.notna()
            right &= (yt == pred.reindex(tst)).fillna(False)
        out["joint.exact_match"] = right[labelled].mean()
        rows.append(out)
    table = pd.DataFrame(rows)
    print(f"| metric | logistic regression (n = {len(table)} splits) |")
    print("|---|---:|")
    for c in table.columns[1:]:
        print(f"| {c} | {table[c].mean():.3f} ± {table[c].std(ddof=1):.3f} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
