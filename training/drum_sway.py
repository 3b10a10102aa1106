#!/usr/bin/env python3
"""How well does the washer package's drum_sway rule (the hub's DrumSwayWatch) tell a drum
out of balance from a sound one, on simulator telemetry (issue 7)?

Per unit: three healthy days, and three days with the drum out of balance from the start
(`hubrig sim export`, polls at 10 s). The rule as the hub runs it: readings from the band's
low to high end are tumbling; the level is a statistic of the last N of them (the
interquartile mean as the hub computes it, the plain mean or the median, for comparison),
taken every minute with the 3-of-5 debounce. The threshold is margin × the highest level
any healthy unit of the range reached (train.py sets the package's so on the training
units). Prints, per choice: the healthy alarms, and for the failing units the delay from
the first programme's first drum turn to the alarm (median, share within 15 min, p90).

Pass --level-max to measure a fixed threshold (the committed package's) on other units,
with the package's rule: --high 0.0045 --readings 36 --stats iqm --level-max 0.003298.
The healthy alarms are 0 by construction with margins of 1.0 and more (the threshold sits
above every healthy level of the same units); --level-max on other units is the test.

Run from the repository root after `swift build -c release --product hubrig`:
    $(training/setup-venv) training/drum_sway.py --cache /tmp/washer-sway --first 1001 --last 1100
"""
import argparse
import csv
import os

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from train import cached_export, tumbling_levels

MINUTE = 6  # samples of 10 s


def telemetry(args, seed, failing):
    name = f"washer-{seed}-3d" + ("-drum-imbalance" if failing else "") + ".csv"
    path = os.path.join(args.cache, name)
    cached_export(args.hubrig, "washer", 3, seed, path, ["drum-imbalance@0d,for=3d"] if failing else [])
    with open(path, newline="") as handle:
        return np.array([float(r["vibration"]) if r["vibration"] else np.nan for r in csv.DictReader(handle)])


def levels(v, n, stat, low, high):
    """The rule's level at every sample: the statistic of the last n tumbling readings (nan before n)."""
    band = np.nonzero((v >= low) & (v <= high))[0]
    out = np.full(len(v), np.nan)
    if len(band) < n:
        return out
    if stat == "iqm":
        level = tumbling_levels(v[band], n)
    elif stat == "mean":
        level = sliding_window_view(v[band], n).mean(axis=1)
    else:
        level = np.median(sliding_window_view(v[band], n), axis=1)
    at = np.full(len(v), -1)
    at[band[n - 1:]] = np.arange(len(level))
    np.maximum.accumulate(at, out=at)
    out[at >= 0] = level[at[at >= 0]]
    return out


def alarms(level, threshold, k=3, n=5):
    """Sample indices at which the k-of-n debounce over per-minute verdicts holds."""
    scored = np.arange(MINUTE - 1, len(level), MINUTE)
    hit = (np.nan_to_num(level[scored], nan=0) > threshold).astype(int)
    return scored[np.convolve(hit, np.ones(n, int))[:len(hit)] >= k]


def first_turn(v, low):
    """The first reading of a programme: the first in the tumbling band after ten idle minutes
    (idle: readings below 0.0021 g, which idle never leaves)."""
    quiet = 0
    for i, x in enumerate(v):
        if np.isnan(x):
            continue
        if x >= low and quiet >= 60:
            return i
        quiet = quiet + 1 if x < 0.0021 else 0
    return 0


def alarm_episodes(at):
    return int(np.sum(np.diff(np.concatenate([[-10**9], at])) > 30 * MINUTE))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hubrig", default=".build/release/hubrig")
    parser.add_argument("--cache", required=True, help="directory for the exported telemetry")
    parser.add_argument("--first", type=int, required=True)
    parser.add_argument("--last", type=int, required=True)
    parser.add_argument("--low", type=float, default=0.0023)
    parser.add_argument("--high", type=float, nargs="+", default=[0.0045, 0.006])
    parser.add_argument("--readings", type=int, nargs="+", default=[24, 30, 36])
    parser.add_argument("--stats", nargs="+", default=["iqm", "mean", "median"])
    parser.add_argument("--margins", type=float, nargs="+", default=[1.0, 1.01, 1.02])
    parser.add_argument("--level-max", type=float, default=None, help="a fixed threshold, g, instead of margins")
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    seeds = range(args.first, args.last + 1)
    healthy = [telemetry(args, s, False) for s in seeds]
    failing = [telemetry(args, s, True) for s in seeds]
    starts = [first_turn(v, args.low) for v in failing]
    print(f"units {args.first}..{args.last}: {len(healthy)} healthy and {len(failing)} failing 3-day exports")
    for high in args.high:
        for n in args.readings:
            for stat in args.stats:
                sound = [levels(v, n, stat, args.low, high) for v in healthy]
                loud = [levels(v, n, stat, args.low, high) for v in failing]
                top = max(np.nanmax(x) if np.any(~np.isnan(x)) else 0 for x in sound)
                thresholds = [(f"x{m}", top * m) for m in args.margins] if args.level_max is None \
                    else [("fixed", args.level_max)]
                for label, threshold in thresholds:
                    false = sum(alarm_episodes(alarms(x, threshold)) for x in sound)
                    delays = []
                    for x, start in zip(loud, starts):
                        at = alarms(x, threshold)
                        at = at[at >= start]
                        delays.append((at[0] - start) / MINUTE if len(at) else np.inf)
                    d = np.array(delays)
                    print(f"band {args.low * 1e3:.1f}-{high * 1e3:.1f} mg, {n:3d} readings, {stat:6s} "
                          f"threshold {threshold * 1e3:.4f} mg ({label}; healthy highest {top * 1e3:.4f}): "
                          f"healthy alarms {false}; failing: median {np.median(d):.1f} min, "
                          f"within 15 min {np.mean(d <= 15):.2f}, p90 {np.percentile(d, 90):.1f}, never {np.mean(np.isinf(d)):.2f}")


if __name__ == "__main__":
    main()
