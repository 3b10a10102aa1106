#!/usr/bin/env python3
"""How well can a washer kit tell an out-of-balance drum from a healthy one while the drum
tumbles (issue 7)? Measures it on simulator telemetry, without any model package.

History: written for the simulator before issue 7 mended its tumbling (a healthy load's
imbalance swayed the cabinet then) and for the former vibration figure (the AC RMS of |a|;
its idle and tumbling limits below are that reading's). It reproduces docs/models.md's
"drum-imbalance" history; the present rule is measured by training/drum_sway.py.

The delay goal (≤ 15 min median from observability, the first second the drum turns after
onset) needs most drum-imbalance episodes caught in the first 15 minutes of a program,
before the spin. This script asks what the vibration readings of those minutes can do:

1. per program: statistics of the readings in its first minutes (from the first drum
   turn), failing programs (validation units, drum imbalance for 3 days from the start)
   against healthy ones (calibration and validation units): AUC and the share of failing
   programs above the healthy programs' 95th / 99th percentile and maximum;
2. as a detector: a sliding window of tumbling readings (no reading above 0.005 g, median
   at least 0.0014 g, so idle, spin and redistribution bursts never count), threshold =
   the lowest at which the k-of-n debounce stays quiet on every calibration unit (as
   train.py sets a package's), then the false alarms on the validation units' healthy days
   and the share of failing programs alarmed within 15 and 30 minutes.

Run from the repository root after `swift build -c release --product hubrig`:
    $(training/setup-venv) training/tumbling_separability.py --cache /tmp/washer-cache
"""
import argparse
import csv
import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from train import cached_export, seed_ranges

DAY = 8640  # samples of 10 s


def telemetry(args, seed, failing):
    name = f"washer-{seed}-3d" + ("-drum-imbalance@0d,for=3d" if failing else "") + ".csv"
    path = os.path.join(args.cache, name)
    cached_export(args.hubrig, "washer", 3, seed, path, ["drum-imbalance@0d,for=3d"] if failing else [])
    with open(path, newline="") as handle:
        return np.array([float(r["vibration"]) if r["vibration"] else np.nan for r in csv.DictReader(handle)])


def program_starts(v):
    """Sample index of each program's first drum turn: minutes whose mean reading exceeds
    0.0013 g (idle reads 0.0007–0.0013, tumbling 0.0014 and up) in blocks more than 10 idle
    minutes apart; the start is the first reading of at least 0.0014 g from the minute before."""
    n = len(v) // 6 * 6
    minutes = np.nanmean(v[:n].reshape(-1, 6), axis=1)
    active = np.nonzero(minutes > 0.0013)[0]
    if len(active) == 0:
        return []
    starts = []
    for block in np.split(active, np.nonzero(np.diff(active) > 10)[0] + 1):
        low = max(0, block[0] * 6 - 6)
        above = np.nonzero(v[low:block[0] * 6 + 6] >= 0.0014)[0]
        starts.append(low + (above[0] if len(above) else 6))
    return starts


def nearest_rank(sorted_rows, percent):
    n = sorted_rows.shape[-1]
    return sorted_rows[..., (percent * n + 99) // 100 - 1]


STATS = {
    "mean": lambda w: w.mean(axis=-1),
    "p75": lambda w: nearest_rank(np.sort(w, axis=-1), 75),
    "p90": lambda w: nearest_rank(np.sort(w, axis=-1), 90),
    "share >= 0.0022 g": lambda w: (w >= 0.0022 - 1e-9).mean(axis=-1),
    "share >= 0.0024 g": lambda w: (w >= 0.0024 - 1e-9).mean(axis=-1),
}


def per_program(args, normal, failing):
    print(f"per program, first {args.minutes} min from the first drum turn: "
          f"{sum(len(program_starts(v)) for v in normal)} healthy programs, "
          f"{sum(len(program_starts(v)) for v in failing)} with drum imbalance")
    m = args.minutes * 6

    def stats(vs):
        rows = []
        for v in vs:
            for p in program_starts(v):
                x = v[p:p + m]
                x = x[~np.isnan(x)]
                rows.append([f(x[None, :])[0] for f in STATS.values()])
        return np.array(rows)
    n, f = stats(normal), stats(failing)
    for i, name in enumerate(STATS):
        auc = (f[:, i, None] > n[None, :, i]).mean() + 0.5 * (f[:, i, None] == n[None, :, i]).mean()
        print(f"  {name:18} AUC {auc:.3f}; failing programs above the healthy p95 {np.mean(f[:, i] > np.percentile(n[:, i], 95)):.2f}, "
              f"p99 {np.mean(f[:, i] > np.percentile(n[:, i], 99)):.2f}, max {np.mean(f[:, i] > n[:, i].max()):.2f}")


def window_scores(v, length, stat):
    v = np.where(np.isnan(v), 0.001, v)
    w = sliding_window_view(v, length)[::6]
    tumbling = (w.max(axis=1) < 0.005) & (nearest_rank(np.sort(w, axis=1), 50) >= 0.0014)
    return np.where(tumbling, stat(w), -1.0), np.arange(length, len(v) + 1, 6) - 1


def debounced(scores, threshold, k, n):
    above = (scores > threshold).astype(int)
    return np.convolve(above, np.ones(n, int))[:len(above)] >= k


def alarms(flags):
    return int(flags[0]) + int((flags[1:] & ~flags[:-1]).sum())


def detector(args, calibration, normal, failing):
    print("sliding-window detector on tumbling windows (threshold: quiet on every calibration unit)")
    for length in args.lengths:
        for name, stat in STATS.items():
            for k, n in ((3, 5), (1, 1)):
                cal = [window_scores(v, length, stat)[0] for v in calibration]
                threshold = next(t for t in np.unique(np.concatenate(cal))
                                 if not any(debounced(s, t, k, n).any() for s in cal))
                counts = np.array([alarms(debounced(window_scores(v, length, stat)[0], threshold, k, n)) for v in normal])
                delays = []
                for v in failing:
                    scores, ends = window_scores(v, length, stat)
                    flags = debounced(scores, threshold, k, n)
                    for p in program_starts(v):
                        hit = np.nonzero(flags & (ends >= p) & (ends < p + 360))[0]
                        delays.append((ends[hit[0]] - p) / 6 if len(hit) else np.inf)
                delays = np.array(delays)
                print(f"  window {length:3}, {name:18} {k}-of-{n}: false alarms {counts.sum() / len(normal) * 10:.2f} "
                      f"per 30 days (worst unit {counts.max()} in 3 days); failing programs alarmed within 15 min "
                      f"{np.mean(delays <= 15):.2f}, within 30 min {np.mean(delays <= 30):.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hubrig", default=".build/release/hubrig")
    parser.add_argument("--cache", required=True, help="directory for the exported telemetry")
    parser.add_argument("--units", type=int, default=50, help="validation units to use (from the first)")
    parser.add_argument("--minutes", type=int, default=12, help="per-program statistics over this many minutes")
    parser.add_argument("--lengths", type=int, nargs="+", default=[30, 60])
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    ranges = seed_ranges(args.hubrig)
    calibration = [telemetry(args, s, False) for s in ranges["calibration"]]
    validation = ranges["validation"][:args.units]
    normal = [telemetry(args, s, False) for s in validation]
    failing = [telemetry(args, s, True) for s in validation]
    per_program(args, calibration + normal, failing)
    detector(args, calibration, normal, failing)


if __name__ == "__main__":
    main()
