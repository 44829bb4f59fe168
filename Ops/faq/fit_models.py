#!/usr/bin/env python3
"""Fit FAQBot's reranker (Resources/rerank.txt) and confidence model (Resources/confidence.txt).

  B=.build/release/intake-bench; K="--kb ../shared/faq/kb.jsonl"
  $B faq $K --queries ../shared/faq/queries-dev.jsonl --split tuning --dump-features /tmp/t1.txt
  $B faq $K --queries Ops/faq/data/tuning-perturbed.jsonl --dump-features /tmp/t2.txt
  python3 Ops/faq/fit_models.py /tmp/t1.txt@1 /tmp/t2.txt@5

Only the tuning part of the dev data and its perturbed variants may be given. `FILE@N` groups
every N consecutive queries of FILE (the perturbed file holds 5 variants per tuning query, in
the tuning file's order), so a query and its variants always fall in the same fold.

1. Reranker: linear, listwise softmax loss (gold among the first stage's pool), L2 penalty,
   standardized features; written in raw units without intercept (only differences matter).
2. Confidence: logistic regression of "reranked top-1 is right" on the features of
   ConfidenceFeatures (Confidence.swift), computed here exactly as Swift does. It is fitted on
   out-of-fold reranker scores (5 folds by group), so it sees the reranker as on unseen queries.
3. Threshold: the smallest at which at most MAX_WRONG (2%, headroom under the 3% target) of the
   auto-answers are wrong, on out-of-fold reranker features scored by the final confidence model
   (the reranker is what overfits: in-sample it gains ~4 points of top-1 over out-of-fold).
   `--nested` also holds the fold out of the confidence fit (stricter; with only ~120 base
   queries whose 5 variants err together, it swings between 0.96 and 0.996).

Needs numpy (dev time only). Deterministic.
"""
import math, sys
import numpy as np

RERANK = ["score", "relScore", "questionCoverage", "keywordHits", "missedContent",
          "queryByQuestion", "soundCoverage", "lcs", "categoryHit", "firstRank", "entryMissed"]
CONF = ["rerank", "rerankMargin", "softmaxTop", "score", "questionCoverage", "keywordHit",
        "missedContent", "agree", "logLength", "asks", "entryMissed"]
MAX_WRONG = 0.02
FOLDS = 5
DEPTH = 20
SINGLE = '--nested' not in sys.argv
if not SINGLE:
    sys.argv.remove('--nested')


def load(specs):
    queries, group_base = [], 0
    for spec in specs:
        path, _, stride = spec.partition("@")
        stride = int(stride or 1)
        n = 0
        for line in open(path, encoding="utf-8"):
            if line.startswith("#"):
                continue
            parts = line.split()
            if parts[0] == "Q":
                queries.append(dict(asks=float(parts[1]), loglen=float(parts[2]), inscope=int(parts[3]),
                                    X=[], y=[], group=group_base + n // stride))
                n += 1
            else:
                queries[-1]["y"].append(int(parts[1]))
                queries[-1]["X"].append([float(v) for v in parts[2:]])
        for q in queries:
            q["X"] = np.array(q["X"], dtype=float).reshape(-1, len(RERANK))
            q["y"] = np.array(q["y"], dtype=int)
    return queries


def fit_rerank(queries, l2=1e-2, iters=1500, lr=0.1):
    train = [q for q in queries if q["y"].sum() > 0 and len(q["y"]) > 1]
    allX = np.vstack([q["X"] for q in train])
    mean, sd = allX.mean(0), np.maximum(allX.std(0), 1e-6)
    Z = [((q["X"] - mean) / sd, q["y"].astype(bool)) for q in train]
    w = np.zeros(len(RERANK))
    w[0] = 1.0
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, iters + 1):
        g = l2 * w
        for X, pos in Z:
            s = X @ w
            s = s - s.max()
            e = np.exp(s)
            p_all = e / e.sum()
            p_pos = e * pos / (e * pos).sum()
            g += (p_all - p_pos) @ X / len(Z)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        w -= lr * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return w / sd  # raw units, no intercept


def conf_features(q, w):
    """(features, label) of one query as ConfidenceFeatures computes them; None when no candidate."""
    if len(q["y"]) == 0:
        return None, 0
    r = q["X"] @ w
    order = np.argsort(-r, kind="stable")
    top = order[0]
    r1 = r[top]
    margin = min(r1 - r[order[1]], 10.0) if len(order) > 1 else 10.0
    soft = 1.0 / np.exp(r - r1).sum()
    f = q["X"][top]
    feats = [r1, margin, soft, f[0], f[2], 1.0 if f[3] > 0 else 0.0, f[4], 1.0 if f[9] == 1.0 else 0.0,
             q["loglen"], q["asks"], f[10]]
    return np.array(feats), int(q["y"][top])


def fit_logistic(F, y, l2=1e-3, iters=3000, lr=0.5):
    mean, sd = F.mean(0), np.maximum(F.std(0), 1e-6)
    Z = (F - mean) / sd
    w, b = np.zeros(F.shape[1]), 0.0
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(Z @ w + b)))
        w -= lr * ((p - y) @ Z / len(y) + l2 * w)
        b -= lr * (p - y).mean()
    return w / sd, b - (w * mean / sd).sum()


def prob(F, wb):
    w, b = wb
    return 1 / (1 + np.exp(-(F @ w + b)))


def table(queries, w):
    rows = [conf_features(q, w) for q in queries]
    return rows


def main():
    queries = load(sys.argv[1:])
    groups = sorted({q["group"] for q in queries})
    fold_of = {g: i % FOLDS for i, g in enumerate(groups)}
    # Out-of-fold reranker scores -> confidence features.
    oof = [None] * len(queries)
    rerank_by_fold = {}
    for f in range(FOLDS):
        train = [q for q in queries if fold_of[q["group"]] != f]
        w = fit_rerank(train)
        rerank_by_fold[f] = w
        for i, q in enumerate(queries):
            if fold_of[q["group"]] == f:
                oof[i] = conf_features(q, w)
    have = [i for i, (F, _) in enumerate(oof) if F is not None]
    first_stage_right = sum(int(q["y"][0]) if len(q["y"]) else 0 for q in queries if q["inscope"])
    oof_right = sum(oof[i][1] for i in have if queries[i]["inscope"])
    inscope = sum(q["inscope"] for q in queries)
    print(f"# in scope {inscope}: first-stage top-1 {first_stage_right / inscope:.3f}, "
          f"reranked out-of-fold top-1 {oof_right / inscope:.3f}", file=sys.stderr)
    # Nested out-of-fold confidence probabilities for the threshold.
    p_oof = np.zeros(len(queries))
    for f in range(FOLDS):
        tr = [i for i in have if fold_of[queries[i]["group"]] != f]
        te = [i for i in have if fold_of[queries[i]["group"]] == f]
        wb = fit_logistic(np.array([oof[i][0] for i in tr]), np.array([oof[i][1] for i in tr], dtype=float))
        p_oof[te] = prob(np.array([oof[i][0] for i in te]), wb)
    labels = np.array([oof[i][1] if oof[i][0] is not None else 0 for i in range(len(queries))])
    if SINGLE:
        # Out-of-fold reranker, confidence fitted on all of it (see the docstring).
        wb_all = fit_logistic(np.array([oof[i][0] for i in have]), np.array([oof[i][1] for i in have], dtype=float))
        p_oof = np.zeros(len(queries))
        p_oof[have] = prob(np.array([oof[i][0] for i in have]), wb_all)
    threshold = None
    for t in list(np.arange(0.30, 0.95, 0.01)) + list(np.arange(0.95, 0.9995, 0.001)):
        auto = p_oof >= t
        n = auto.sum()
        wrong = (auto & (labels == 0)).sum()
        if n > 0 and wrong / n <= MAX_WRONG:
            threshold = round(float(t), 3)
            break
    if threshold is None:
        threshold = 0.999
    for t in [0.5, 0.7, 0.9, 0.95, 0.97, 0.98, 0.99, threshold]:
        auto = p_oof >= t
        print(f"# t={t:.2f} auto {auto.mean():.3f} wrong {(auto & (labels == 0)).sum()}/{auto.sum()}", file=sys.stderr)
    # Final models.
    w = fit_rerank(queries)
    rows = [conf_features(q, w) for q in queries]
    wb = fit_logistic(np.array([oof[i][0] for i in have]), np.array([oof[i][1] for i in have], dtype=float))
    right = sum(rows[i][1] for i in range(len(queries)) if queries[i]["inscope"] and rows[i][0] is not None)
    print(f"# final reranker in-sample top-1 {right / inscope:.3f}", file=sys.stderr)
    with open("Sources/FAQBot/Resources/rerank.txt", "w") as out:
        out.write(f"# fitted by Ops/faq/fit_models.py (listwise softmax, L2) on {len(queries)} tuning queries "
                  f"(clean + perturbed); out-of-fold top-1 {oof_right / inscope:.3f} vs first stage "
                  f"{first_stage_right / inscope:.3f}\n")
        out.write(f"depth {DEPTH}\n")
        for name, v in zip(RERANK, w):
            out.write(f"{name} {v:.6f}\n")
    with open("Sources/FAQBot/Resources/confidence.txt", "w") as out:
        out.write(f"# fitted by Ops/faq/fit_models.py on {len(have)} tuning queries' out-of-fold reranked features\n")
        out.write(f"# threshold: lowest with at most {MAX_WRONG:.0%} wrong among auto-answers on {'' if SINGLE else 'nested '}out-of-fold "
                  f"probabilities (tuning split, clean + perturbed)\n")
        out.write(f"bias {wb[1]:.6f}\nthreshold {threshold}\n")
        for name, v in zip(CONF, wb[0]):
            out.write(f"{name} {v:.6f}\n")


if __name__ == "__main__":
    main()
