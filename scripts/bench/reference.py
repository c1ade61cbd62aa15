"""The B1 sweep as a plain PyTorch loop: the baseline headsweep is measured
against (docs/performance.md). Same data files, split sizes, networks,
optimiser, epochs and per-epoch validation as headsweep's runs.

    python reference.py DATA_DIR [--part I/N] [--threads T] [--device D]
                        [--optimizer plain|foreach|fused] [--vmap [--cuda-graph]]
                        [--seeds S] [--limit K]

trains runs I, I+N, I+2N, … of the 12 × S (36 with the default 3 seeds;
with `--limit K`, K of them spread evenly over the list, so that a sample
covers every grid point) one after another and prints one JSON
line: runs trained, seconds of training, training FLOPs (counted as
headsweep counts them). `--to-npy` converts the synthetic TSV to the .npy
both sides read.

`--optimizer` picks PyTorch's Adam implementation: the per-parameter loop
(`foreach=False`), the multi-tensor one (`foreach=True`) or the fused
kernel (`fused=True`). `--vmap` trains the runs the way PyTorch's own
ensembling tutorial does: the seeds of one architecture × loss × depth
(the runs headsweep fuses) stacked with `torch.func.stack_module_state`
and trained as one with `functional_call` under `vmap`, each member with
its own batch order, one Adam over the stacked parameters (Adam is
elementwise, so this is each member's own Adam); groups I, I+N, … of the
12 with `--part`. `--cuda-graph` (CUDA only) captures each group's training
step — forward, backward and a capturable fused Adam — as one CUDA graph
and replays it for every full batch (the last, smaller batch of an epoch
runs as it is), after 3 warm-up steps on a side stream, as PyTorch's
documentation describes whole-network capture; those warm-up steps are
extra training, a few out of hundreds.
"""

import argparse
import copy
import csv
import gzip
import itertools
import json
import time

import torch


def read_npy(path):
    """A 2-D little-endian float32 .npy, without NumPy."""
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:6] == b"\x93NUMPY", path
    header_len = int.from_bytes(raw[8:10], "little")
    header = raw[10:10 + header_len].decode()
    assert "'<f4'" in header and "'fortran_order': False" in header, header
    shape = tuple(int(v) for v in header.split("(")[1].split(")")[0].split(",") if v.strip())
    return torch.frombuffer(bytearray(raw[10 + header_len:]), dtype=torch.float32).view(shape)


def load(folder):
    x = read_npy(f"{folder}/features.npy")
    with open(f"{folder}/ids.txt") as f:
        ids = f.read().split()
    with open(f"{folder}/samples.tsv") as f:
        sheet = {r["id"]: r for r in csv.DictReader(f, delimiter="\t")}
    edges = list(range(0, 95, 5))
    age = [max(0, min(17, sum(1 for e in edges if float(sheet[i]["age"]) >= e) - 1)) for i in ids]
    sexes = sorted({sheet[i]["sex"] for i in ids})
    sex = [sexes.index(sheet[i]["sex"]) for i in ids]
    return x, torch.tensor(age), torch.tensor(sex)


def to_npy(folder):
    """Writes features.tsv.gz as features.npy (float32, NaN where missing)
    and ids.txt: the benchmark's input, read fast by both sides."""
    import struct
    with gzip.open(f"{folder}/features.tsv.gz", "rt") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    missing = {"", "NA", "NaN", "nan"}
    n, p = len(rows) - 1, len(rows[0]) - 1
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, p)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(f"{folder}/features.npy", "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
        for r in rows[1:]:
            f.write(struct.pack("<%df" % p, *(float("nan") if v in missing else float(v) for v in r[1:])))
    with open(f"{folder}/ids.txt", "w") as f:
        f.write("".join(r[0] + "\n" for r in rows[1:]))


def prepared(folder):
    """The data set, split, imputed and scaled as headsweep prepares it:
    x, age, sex and the train, validation and test indices."""
    x, age, sex = load(folder)
    tr, va, te = split(len(x))
    # Missing values take the training mean, as headsweep imputes them.
    mean = x[tr].nanmean(0)
    x = torch.where(torch.isnan(x), mean, x)
    x = (x - mean) / x[tr].std(0).clamp_min(1e-8)
    return x, age, sex, tr, va, te


def split(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    n_train, n_val = round(n * 0.7), round(n * 0.15)
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]


def mlp(widths):
    layers = []
    for a, b in zip(widths, widths[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return layers


class Net(torch.nn.Module):
    def __init__(self, arch, depth, inputs, classes):
        super().__init__()
        self.arch = arch
        tower = [32] * depth
        if arch == "multi_label":
            widths = [inputs, 128, 64] + tower
            self.body = torch.nn.Sequential(*mlp(widths), torch.nn.Linear(widths[-1], sum(classes)))
        else:
            self.trunk = torch.nn.Sequential(*mlp([inputs, 128, 64]))
            self.heads = torch.nn.ModuleList(
                torch.nn.Sequential(*mlp([64] + tower), torch.nn.Linear(([64] + tower)[-1], k))
                for k in classes
            )

    def forward(self, x):
        if self.arch == "multi_label":
            return self.body(x)
        h = self.trunk(x)
        return torch.cat([head(h) for head in self.heads], 1)


def loss_of(kind, z, ys, classes):
    if kind == "bce":
        target = torch.cat([torch.nn.functional.one_hot(y, k) for y, k in zip(ys, classes)], 1)
        return torch.nn.functional.binary_cross_entropy_with_logits(z, target.to(z.dtype))
    parts = torch.split(z, classes, 1)
    return sum(torch.nn.functional.cross_entropy(p, y) for p, y in zip(parts, ys))


def flops_per_sample(net):
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    first = linears[0]
    return sum((4 if m is first else 6) * m.in_features * m.out_features for m in linears)


def adam(params, optimizer):
    kind = {"plain": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
    return torch.optim.Adam(params, lr=1e-3, **kind[optimizer])


def train_one(run, x, age, sex, tr, va, te, classes, optimizer, dev):
    arch, kind, depth, seed = run
    torch.manual_seed(seed)
    net = Net(arch, depth, x.shape[1], classes).to(dev)
    opt = adam(net.parameters(), optimizer)
    for _epoch in range(20):
        net.train()
        for idx in tr[torch.randperm(len(tr))].split(64):
            loss = loss_of(kind, net(x[idx]), [age[idx], sex[idx]], classes)
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            loss_of(kind, net(x[va]), [age[va], sex[va]], classes).item()
    with torch.no_grad():
        for idx in (tr, va, te):
            net(x[idx]).softmax(1).tolist()
    return flops_per_sample(net) * len(tr) * 20


def train_stacked(group, x, age, sex, tr, va, te, classes, optimizer, dev, graph=False):
    """The runs of `group` (one architecture, loss and depth; several seeds)
    as one vmap ensemble, its steps replayed as a CUDA graph with `graph`."""
    from torch.func import functional_call, stack_module_state, vmap

    arch, kind, depth, _ = group[0]
    nets = []
    for _, _, _, seed in group:
        torch.manual_seed(seed)
        nets.append(Net(arch, depth, x.shape[1], classes).to(dev))
    params, buffers = stack_module_state(nets)
    skeleton = copy.deepcopy(nets[0]).to("meta")

    def forward(p, b, xb):
        return functional_call(skeleton, (p, b), (xb,))

    batched = vmap(forward)
    shared = vmap(forward, in_dims=(0, 0, None))
    if graph:
        opt = torch.optim.Adam(list(params.values()), lr=1e-3, fused=True, capturable=True)
    else:
        opt = adam(list(params.values()), optimizer)
    gens = [torch.Generator().manual_seed(seed) for *_, seed in group]
    m = len(group)

    def step(idx):
        z = batched(params, buffers, x[idx])
        # Every member's batch is the same size, so m × the mean over
        # all members' samples is the sum of the members' mean losses.
        flat = z.reshape(-1, z.shape[-1])
        loss = m * loss_of(kind, flat, [age[idx].reshape(-1), sex[idx].reshape(-1)], classes)
        opt.zero_grad(set_to_none=not graph)
        loss.backward()
        opt.step()

    replay = None
    if graph:
        static = tr[:64].to(dev).expand(m, 64).clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step(static)
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            step(static)

        def replay(idx):
            static.copy_(idx)
            g.replay()

    for _epoch in range(20):
        order = torch.stack([tr[torch.randperm(len(tr), generator=g)] for g in gens]).to(dev)
        for idx in order.split(64, dim=1):
            if replay is not None and idx.shape[1] == 64:
                replay(idx)
            else:
                step(idx)
        with torch.no_grad():
            z = shared(params, buffers, x[va])
            [loss_of(kind, z[i], [age[va], sex[va]], classes).item() for i in range(m)]
    with torch.no_grad():
        for idx in (tr, va, te):
            z = shared(params, buffers, x[idx])
            [z[i].softmax(1).tolist() for i in range(m)]
    return flops_per_sample(nets[0]) * len(tr) * 20 * m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--to-npy", action="store_true", help="only convert the data folder's TSV to .npy")
    ap.add_argument("--part", default="0/1")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu", help="cpu or cuda:N: where tensors and networks live")
    ap.add_argument("--optimizer", default="plain", choices=["plain", "foreach", "fused"])
    ap.add_argument("--vmap", action="store_true", help="train each group of seeds as one vmap ensemble")
    ap.add_argument("--cuda-graph", action="store_true", help="with --vmap on CUDA: replay each step as a CUDA graph")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per grid point (B1: 3)")
    ap.add_argument("--limit", type=int, default=0, help="train only K runs spread over the list (0: all)")
    a = ap.parse_args()
    if a.to_npy:
        return to_npy(a.data)
    if a.threads:
        torch.set_num_threads(a.threads)
    part, parts = map(int, a.part.split("/"))
    x, age, sex, tr, va, te = prepared(a.data)
    dev = torch.device(a.device)
    x, age, sex = x.to(dev), age.to(dev), sex.to(dev)
    classes = [18, 2]
    runs = list(itertools.product(["multi_label", "multi_head"], ["bce", "ce"], [0, 1, 2], range(a.seeds)))
    start, flops, done = time.perf_counter(), 0.0, 0
    args = (x, age, sex, tr, va, te, classes, a.optimizer, dev)
    if a.vmap:
        groups = [runs[i:i + a.seeds] for i in range(0, len(runs), a.seeds)]
        for group in groups[part::parts]:
            flops += train_stacked(group, *args, graph=a.cuda_graph)
            done += len(group)
    else:
        sample = runs[:: max(1, len(runs) // a.limit)][: a.limit] if a.limit else runs
        for run in sample[part::parts]:
            flops += train_one(run, *args)
            done += 1
    print(json.dumps({"runs": done, "seconds": time.perf_counter() - start, "flops": flops}))


if __name__ == "__main__":
    main()
