#!/usr/bin/env python3
"""Fit FAQBot's confidence model: logistic regression of "top-1 is right" on match features.

  intake-bench faq --kb ../shared/faq/kb.jsonl --queries ../shared/faq/queries-dev.jsonl \
      --split tuning --dump-features /tmp/f1.txt        (and more dumps: perturbed, padded)
  python3 Ops/faq/fit_confidence.py /tmp/f1.txt /tmp/f2.txt ... > Sources/FAQBot/Resources/confidence.txt

Only the tuning part of the dev data (and its perturbed variants) may be used. Standard
library only: gradient descent with a small L2 penalty on standardized features; the
coefficients are written back in raw feature units. The threshold line is a placeholder until
it is chosen with `intake-bench faq --threshold` on the tuning data (see Ops/faq/README.md).
"""
import math, sys


def load(paths):
    names, rows = None, []
    for p in paths:
        for line in open(p, encoding="utf-8"):
            if line.startswith("#"):
                names = line[1:].split()[:-1]
                continue
            v = [float(x) for x in line.split()]
            rows.append((v[:-1], v[-1]))
    return names, rows


def main():
    threshold = 0.5
    args = sys.argv[1:]
    if args and args[0].startswith("--threshold="):
        threshold = float(args.pop(0).split("=")[1])
    names, rows = load(args)
    k = len(names)
    mean = [sum(x[i] for x, _ in rows) / len(rows) for i in range(k)]
    sd = [max(1e-6, math.sqrt(sum((x[i] - mean[i]) ** 2 for x, _ in rows) / len(rows))) for i in range(k)]
    z = [([(x[i] - mean[i]) / sd[i] for i in range(k)], y) for x, y in rows]
    w, b, lr, l2 = [0.0] * k, 0.0, 0.5, 1e-3
    for _ in range(3000):
        gw, gb = [0.0] * k, 0.0
        for x, y in z:
            p = 1 / (1 + math.exp(-(b + sum(wi * xi for wi, xi in zip(w, x)))))
            for i in range(k):
                gw[i] += (p - y) * x[i]
            gb += p - y
        n = len(z)
        w = [wi - lr * (g / n + l2 * wi) for wi, g in zip(w, gw)]
        b -= lr * gb / n
    raw = [w[i] / sd[i] for i in range(k)]
    bias = b - sum(w[i] * mean[i] / sd[i] for i in range(k))
    loss = 0.0
    for x, y in z:
        p = 1 / (1 + math.exp(-(b + sum(wi * xi for wi, xi in zip(w, x)))))
        p = min(max(p, 1e-9), 1 - 1e-9)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
    print(f"# fitted by Ops/faq/fit_confidence.py on {len(rows)} rows ({int(sum(y for _, y in rows))} right); "
          f"log loss {loss / len(rows):.4f}")
    print(f"bias {bias:.6f}")
    print(f"threshold {threshold}")
    for name, v in zip(names, raw):
        print(f"{name} {v:.6f}")


if __name__ == "__main__":
    main()
