"""The tiny-run sweep of scripts/bench/overhead as a plain PyTorch loop:
runs of 1 epoch on 200 × 50 data, one after another, each with its own
network, fused Adam, validation loss and predictions on every split, as
headsweep trains them (and nothing stored). Prints one JSON line: runs and seconds inside the loop.

    python tiny.py DATA_DIR RUNS [--part I/N]
"""

import argparse
import json
import time

import torch

from reference import prepared


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("runs", type=int)
    ap.add_argument("--part", default="0/1")
    a = ap.parse_args()
    torch.set_num_threads(1)
    part, parts = map(int, a.part.split("/"))
    x, age, sex, tr, va, te = prepared(a.data)
    classes = [18, 2]
    start, done = time.perf_counter(), 0
    # Run i: seed i // 2 at the i % 2-th learning rate, as the sweep's grid.
    for i in range(a.runs)[part::parts]:
        seed, lr = i // 2, (1e-3, 1e-2)[i % 2]
        torch.manual_seed(seed)
        trunk = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 16), torch.nn.ReLU())
        heads = torch.nn.ModuleList(torch.nn.Linear(16, k) for k in classes)
        params = list(trunk.parameters()) + list(heads.parameters())
        opt = torch.optim.Adam(params, lr=lr, fused=True)

        def loss(idx):
            h = trunk(x[idx])
            return sum(torch.nn.functional.cross_entropy(head(h), y[idx]) for head, y in zip(heads, (age, sex)))

        for idx in tr[torch.randperm(len(tr))].split(64):
            l = loss(idx)
            opt.zero_grad()
            l.backward()
            opt.step()
        with torch.no_grad():
            loss(va).item()
            for idx in (tr, va, te):
                h = trunk(x[idx])
                [head(h).softmax(1).tolist() for head in heads]
        done += 1
    print(json.dumps({"runs": done, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
