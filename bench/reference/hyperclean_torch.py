#!/usr/bin/env python3
"""PyTorch reference of hyperclean-mnist (shared/TASKS.md) and of bilevel's bome, itd and aid-cg on it.

The same problem as src/tasks/hyperclean.ts (MNIST train 0..4999 / 5000..9999, the 10,000 test images,
pixels / 255; the mulberry32 corruption; W [10, 784], logits X W^T + b; f = mean sigmoid(x_i) CE_i +
0.001 ||W||^2; F = validation CE) and the same updates as src/solvers/{bome,itd,aid}.ts with the task's
settings (T = 10 inner steps of 0.1; zero start; float32; full batch):

  itd     y_T by T differentiable steps from y_k; x <- x - lrX dF(y_T(x))/dx; y <- y_T     (lrX 1e5)
  aid-cg  y_T by T steps; v = CG(H_yy f, grad_y F, 10 iterations from 0); x <- x - lrX (grad_x F -
          grad_xy f v); y <- y_T                                                             (lrX 1e4)
  bome    y_T by T steps from y_k (constant); q = f(x,y) - f(x,y_T); lambda = relu(eta - <gF,gq> /
          (||gq||^2 + eps)); x <- x - lrX (gF_x + lambda gq_x); y <- y - lrY (gF_y + lambda gq_y)
          (eta 0.5, lrX 1e5, lrY 1, eps 1e-8)

For the scaling bench (bench/scaling.ts): --n sets the training-set size (images 0..n-1, validation
n..n+4999; 5000 = the shared spec), --truncate K differentiates itd through only the last K of the T
inner steps (the first T - K run without a graph, as src/oracles/unroll.ts; 0 = all).

Prints one JSON object: per-step wall times (ms, after torch's work is done), the process's peak RSS
(getrusage ru_maxrss; with --reset-peak-after K also the peak over steps K+1.. alone, from
/proc/self/status after resetting it through /proc/self/clear_refs) and the metrics (testAccuracy, f1, valLoss) at the requested steps. Run with OPENBLAS_NUM_THREADS=1; torch uses
--threads intra-op threads (default 2).
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

N_TRAIN, N_VAL, CLASSES, L2 = 5000, 5000, 10, 0.001


def mulberry32(seed):
    a = seed & 0xFFFFFFFF

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t = (t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return nxt


def corrupt(clean, rate, seed):
    n = len(clean)
    k = int(np.floor(rate * n + 0.5))
    u = mulberry32(seed)
    perm = list(range(n))
    for i in range(k):
        j = i + int(np.floor(u() * (n - i)))
        perm[i], perm[j] = perm[j], perm[i]
    noisy = np.array(clean, dtype=np.int64)
    mask = np.zeros(n, dtype=bool)
    for c in perm[:k]:
        noisy[c] = (noisy[c] + 1 + int(np.floor(u() * 9))) % CLASSES
        mask[c] = True
    return noisy, mask, sorted(perm[:k])


def read_idx(path):
    with open(path, "rb") as fh:
        data = fh.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="folder with the four MNIST IDX files")
    ap.add_argument("--solver", choices=["bome", "itd", "aid-cg"], required=True)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--eval-at", default="30,50", help="steps after which to report metrics")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--T", type=int, default=10)
    ap.add_argument("--inner-lr", type=float, default=0.1)
    ap.add_argument("--cg-iters", type=int, default=10)
    ap.add_argument("--n", type=int, default=N_TRAIN, help="training-set size (validation = the next 5000 images)")
    ap.add_argument("--truncate", type=int, default=0, help="itd: differentiate through the last K inner steps (0 = all)")
    ap.add_argument("--reset-peak-after", type=int, default=0, help="reset the RSS high-water mark after this step (0 = never)")
    a = ap.parse_args()
    n = a.n
    if not 1 <= n <= 60000 - N_VAL:
        sys.exit(f"--n: expected an integer in [1, {60000 - N_VAL}], got {n}")
    if not 0 <= a.truncate <= a.T:
        sys.exit(f"--truncate: expected an integer in [0, T = {a.T}], got {a.truncate}")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    tr_img = read_idx(os.path.join(a.data, "train-images-idx3-ubyte")).reshape(-1, 784)
    tr_lab = read_idx(os.path.join(a.data, "train-labels-idx1-ubyte"))
    te_img = read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte")).reshape(-1, 784)
    te_lab = read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte"))
    noisy, mask, chosen = corrupt(tr_lab[:n], 0.5, a.seed)
    fingerprint = {"corrupted": len(chosen), "firstCorrupted": chosen[:8], "corruptedIndexSum": int(sum(chosen))}

    f32 = torch.float32
    Xtr = torch.tensor(tr_img[:n] / 255.0, dtype=f32)
    Ytr = torch.tensor(noisy)
    Xval = torch.tensor(tr_img[n:n + N_VAL] / 255.0, dtype=f32)
    Yval = torch.tensor(tr_lab[n:n + N_VAL].astype(np.int64))
    Xte = torch.tensor(te_img / 255.0, dtype=f32)
    Yte = torch.tensor(te_lab.astype(np.int64))
    ce = torch.nn.functional.cross_entropy

    def lower(x, W, b):
        per = ce(Xtr @ W.T + b, Ytr, reduction="none")
        return (torch.sigmoid(x) * per).mean() + L2 * (W * W).sum()

    def upper(W, b):
        return ce(Xval @ W.T + b, Yval)

    def inner(x, W, b, graph, truncate=0):
        # with truncate = K > 0 only the last K steps are recorded for differentiation
        free = a.T - truncate if graph and 0 < truncate < a.T else 0
        for t in range(a.T):
            if t < free:  # a step outside the graph: its result is a constant leaf
                Wd, bd = W.detach().requires_grad_(True), b.detach().requires_grad_(True)
                gW, gb = torch.autograd.grad(lower(x.detach(), Wd, bd), (Wd, bd))
                W = (Wd - a.inner_lr * gW).detach().requires_grad_(True)
                b = (bd - a.inner_lr * gb).detach().requires_grad_(True)
                continue
            gW, gb = torch.autograd.grad(lower(x, W, b), (W, b), create_graph=graph)
            W, b = W - a.inner_lr * gW, b - a.inner_lr * gb
        return W, b

    x = torch.zeros(n, dtype=f32)
    W = torch.zeros(CLASSES, 784, dtype=f32)
    b = torch.zeros(CLASSES, dtype=f32)

    def step_itd(x, W, b, lrX=1e5):
        x = x.requires_grad_(True)
        W0, b0 = W.requires_grad_(True), b.requires_grad_(True)
        WT, bT = inner(x, W0, b0, graph=True, truncate=a.truncate)
        (h,) = torch.autograd.grad(upper(WT, bT), (x,))
        return (x - lrX * h).detach(), WT.detach(), bT.detach()

    def step_aid(x, W, b, lrX=1e4):
        with torch.enable_grad():
            W0, b0 = W.requires_grad_(True), b.requires_grad_(True)
            WT, bT = inner(x, W0, b0, graph=False)
        WT, bT = WT.detach().requires_grad_(True), bT.detach().requires_grad_(True)
        xr = x.detach().requires_grad_(True)
        gFW, gFb = torch.autograd.grad(upper(WT, bT), (WT, bT))
        gW, gb = torch.autograd.grad(lower(xr, WT, bT), (WT, bT), create_graph=True)

        def hvp(vW, vb):
            return torch.autograd.grad((gW * vW).sum() + (gb * vb).sum(), (WT, bT), retain_graph=True)

        # CG from zero on H v = grad_y F, the same recurrences as src/oracles/linsolve.ts
        vW, vb = torch.zeros_like(gFW), torch.zeros_like(gFb)
        rW, rb = gFW.clone(), gFb.clone()
        pW, pb = rW.clone(), rb.clone()
        rs = (rW * rW).sum() + (rb * rb).sum()
        for _ in range(a.cg_iters):
            ApW, Apb = hvp(pW, pb)
            pAp = (pW * ApW).sum() + (pb * Apb).sum()
            alpha = rs / torch.clamp(pAp, min=1e-30)
            vW, vb = vW + alpha * pW, vb + alpha * pb
            rW, rb = rW - alpha * ApW, rb - alpha * Apb
            rs_new = (rW * rW).sum() + (rb * rb).sum()
            beta = rs_new / torch.clamp(rs, min=1e-30)
            rs = rs_new
            pW, pb = rW + beta * pW, rb + beta * pb
        (cross,) = torch.autograd.grad((gW * vW.detach()).sum() + (gb * vb.detach()).sum(), (xr,))
        return (x - lrX * (-cross)).detach(), WT.detach(), bT.detach()

    def step_bome(x, W, b, eta=0.5, lrX=1e5, lrY=1.0, eps=1e-8):
        with torch.enable_grad():
            WT, bT = inner(x.detach(), W.detach().requires_grad_(True), b.detach().requires_grad_(True), graph=False)
        WT, bT = WT.detach(), bT.detach()
        xr, Wr, br = x.detach().requires_grad_(True), W.detach().requires_grad_(True), b.detach().requires_grad_(True)
        q = lower(xr, Wr, br) - lower(xr, WT, bT)
        gqx, gqW, gqb = torch.autograd.grad(q, (xr, Wr, br))
        gFW, gFb = torch.autograd.grad(upper(Wr, br), (Wr, br))
        nq = (gqx * gqx).sum() + (gqW * gqW).sum() + (gqb * gqb).sum()
        dot = (gFW * gqW).sum() + (gFb * gqb).sum()  # grad_x F = 0
        lam = torch.relu(eta - dot / (nq + eps))
        return (x - lrX * lam * gqx).detach(), (W - lrY * (gFW + lam * gqW)).detach(), (b - lrY * (gFb + lam * gqb)).detach()

    step = {"itd": step_itd, "aid-cg": step_aid, "bome": step_bome}[a.solver]

    def metrics(x, W, b):
        with torch.no_grad():
            acc = ((Xte @ W.T + b).argmax(1) == Yte).float().mean().item()
            flagged = (x < 0).numpy()
            tp = int((flagged & mask).sum())
            fp = int((flagged & ~mask).sum())
            fn = int((~flagged & mask).sum())
            f1 = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
            return {"testAccuracy": acc, "f1": f1, "valLoss": upper(W, b).item()}

    def status_kib(field):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None

    eval_at = {int(s) for s in a.eval_at.split(",") if s}
    times, at, peak = [], {}, {}
    for k in range(1, a.steps + 1):
        t0 = time.perf_counter()
        x, W, b = step(x, W, b)
        times.append((time.perf_counter() - t0) * 1000)
        if k in eval_at:
            at[str(k)] = metrics(x, W, b)
        if k == a.reset_peak_after:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            peak["baselineRssBytes"] = status_kib("VmRSS") * 1024
    if peak:
        peak["stepPeakRssBytes"] = status_kib("VmHWM") * 1024
    json.dump({"solver": a.solver, "steps": a.steps, "threads": a.threads, "torch": torch.__version__,
               "openblasThreads": os.environ.get("OPENBLAS_NUM_THREADS"), "fingerprint": fingerprint,
               "n": n, "T": a.T, "truncate": a.truncate,
               "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, **peak,
               "msPerStep": times, "metrics": at}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
