#!/usr/bin/env python3
"""How the sensor component's CompressorVibrationCrossCheck (production figures) does on
simulator telemetry: how often it fires on healthy fridge days and on compressor failures
(never should), and how soon it calls a stuck accelerometer (README, "An accelerometer
held against the air").

The rule is re-stated here at a 10 s poll: a verdict when the vibration read rest (≤ 4 mg)
for the last 3 minutes and the air fell 1.2 K over them with no opening's step (a rise above
0.4 K between two samples) in the last 15 minutes, or 2 K with no step inside the 3 minutes,
either on 3 samples in a row (30 s); held 3 h after the last such fall, cleared when the compressor is heard. A stuck
accelerometer is simulated by replacing the vibration from an instant on with the chip's
resting reading (1.7 mg), which is what the `sensor.<device>.stuck` fault makes the kit
report.

Run from the repository root after `swift build -c release --product hubrig`:
    $(training/setup-venv) training/stuck_accelerometer.py --cache /tmp/fridge-cache --first 2051 --last 2150
"""
import argparse
import csv
import os

import numpy as np

from train import cached_export

SPAN, FALL, FAST_FALL, QUIET, CONFIRM, HOLD, STEP, RUNNING = 18, 1.2, 2.0, 90, 3, 1080, 0.4, 0.004  # samples of 10 s, K, g
REST = 0.0017


def telemetry(args, seed, failing):
    name = f"fridge-{seed}-" + ("3d-compressor-failure.csv" if failing else "6d.csv")
    path = os.path.join(args.cache, name)
    failures = ("compressor-failure@1d,for=6h", "compressor-failure@2d6h,for=6h") if failing else ()
    cached_export(args.hubrig, "fridge", 3 if failing else 6, seed, path, failures)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    value = lambda row, key: float(row[key]) if row[key] else np.nan
    return np.array([value(r, "temperature") for r in rows]), np.array([value(r, "vibration") for r in rows])


def verdicts(temperature, vibration):
    """The check's verdict after every sample, as CompressorVibrationCrossCheck.add gives it."""
    on = np.zeros(len(temperature), bool)
    since_running = since_step = cooling = 0
    last, state, previous = None, False, None
    ring = []
    for i, (t, v) in enumerate(zip(temperature, vibration)):
        if np.isnan(t) or np.isnan(v):
            on[i] = state
            continue  # a poll without both values adds nothing
        since_step = since_step + 1 if previous is not None and t - previous <= STEP else 0
        previous = t
        ring = (ring + [t])[-(SPAN + 1):]
        if v > RUNNING:
            since_running, cooling, last, state = 0, 0, None, False
            continue
        since_running += 1
        fall = ring[0] - t if len(ring) == SPAN + 1 else 0
        cools = since_running > SPAN and (since_step > QUIET and fall >= FALL or since_step >= SPAN and fall >= FAST_FALL)
        cooling = cooling + 1 if cools else 0
        if cooling >= CONFIRM:
            last, state = i, True
        if state and i - last > HOLD:
            state = False
        on[i] = state
    return on


def onsets(flags):
    return int(flags[0]) + int((flags[1:] & ~flags[:-1]).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hubrig", default=".build/release/hubrig")
    parser.add_argument("--cache", required=True, help="directory for the exported telemetry")
    parser.add_argument("--first", type=int, default=2051)
    parser.add_argument("--last", type=int, default=2150)
    args = parser.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    seeds = range(args.first, args.last + 1)
    healthy = failing = 0
    delays = []
    for seed in seeds:
        temperature, vibration = telemetry(args, seed, False)
        healthy += onsets(verdicts(temperature, vibration))
        failing += onsets(verdicts(*telemetry(args, seed, True)))
        # Stuck from every third hour of days 2–6, judged over the next two hours.
        for start in range(8640, len(temperature) - 1080, 1080):
            stuck = vibration.copy()
            stuck[start:] = REST
            hit = np.nonzero(verdicts(temperature[:start + 720], stuck[:start + 720])[start:])[0]
            delays.append(hit[0] / 6 if len(hit) else np.inf)
    delays = np.array(delays)
    print(f"units {args.first}..{args.last}: verdicts on {6 * len(seeds)} healthy days {healthy}, "
          f"on {2 * len(seeds)} compressor failures of 6 h {failing}")
    print(f"stuck accelerometer, {len(delays)} episodes: median {np.median(delays):.1f} min, p90 {np.percentile(delays, 90):.1f}, "
          f"within 30 min {np.mean(delays <= 30):.3f}, within 60 min {np.mean(delays <= 60):.3f}")


if __name__ == "__main__":
    main()
