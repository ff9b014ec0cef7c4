#!/usr/bin/env python3
"""Turns the rows scripts/compare-llamacpp.sh collected into the markdown report of
docs/performance.md: medians per engine, model and test, and vkgraph's ratios to the peer."""
import argparse
import datetime
import json
import os
import platform
import statistics
from collections import defaultdict

OURS = "vkgraph Vulkan"
PEER_VULKAN = "llama.cpp Vulkan"
PEER_CPU = "llama.cpp CPU"
# Issue targets, as ratios of vkgraph to the peer.
TARGETS = {("tg", PEER_VULKAN): 5.0, ("pp", PEER_VULKAN): 3.0, ("tg", PEER_CPU): 0.25}


def read_jsonl(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def describe_device(devices_json):
    try:
        devices = [d for d in json.loads(devices_json) if d.get("backend") == "vulkan" and d.get("available", True)]
    except json.JSONDecodeError:
        devices = []
    if not devices:
        return "no Vulkan device"
    d = devices[0]
    driver = d.get("driver", {})
    return f"{d['name']}, {driver.get('info', '')}, Vulkan {d.get('api_version', '?')}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("cold")
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--commit", default="unknown")
    parser.add_argument("--devices-json", default="[]")
    args = parser.parse_args()

    samples = defaultdict(list)
    for row in read_jsonl(args.results):
        samples[(row["model"], row["test"], row["engine"])].append(row["tps"])
    median = {key: statistics.median(values) for key, values in samples.items()}

    lines = [
        f"Run {datetime.date.today().isoformat()}, commit {args.commit}, {args.runs} rounds (medians), "
        f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, {platform.platform()}.",
        f"Device: {describe_device(args.devices_json)}",
        "Synthetic models of real shapes (speed does not depend on weight values).",
        "",
        "| model | test | vkgraph t/s | llama.cpp Vulkan t/s | llama.cpp CPU t/s | vs Vulkan | vs CPU |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    verdicts = []
    for model, test in sorted({(m, t) for (m, t, _) in median}, key=lambda k: (k[0], k[1][:2] != "pp", k[1])):
        ours = median.get((model, test, OURS))
        peer_vk = median.get((model, test, PEER_VULKAN))
        peer_cpu = median.get((model, test, PEER_CPU))

        def fmt(x):
            return "-" if x is None else f"{x:.1f}"

        def ratio(peer):
            return None if ours is None or not peer else ours / peer

        r_vk, r_cpu = ratio(peer_vk), ratio(peer_cpu)
        lines.append(
            f"| {model} | {test} | {fmt(ours)} | {fmt(peer_vk)} | {fmt(peer_cpu)} | "
            f"{'-' if r_vk is None else f'{r_vk:.2f}x'} | {'-' if r_cpu is None else f'{r_cpu:.2f}x'} |")
        if model.startswith("smollm2"):
            for (kind, peer_name), target in TARGETS.items():
                r = r_vk if peer_name == PEER_VULKAN else r_cpu
                if test.startswith(kind) and r is not None:
                    state = "met" if r >= target else "NOT met"
                    verdicts.append(f"- {model} {test} vs {peer_name}: {r:.2f}x (target {target}x): {state}")

    cold = defaultdict(list)
    for row in read_jsonl(args.cold):
        cold[(row["engine"], row["state"])].append(row["seconds"])
    if cold:
        lines += ["", "Time to the first generated token (stories260K, `-n 1`), medians:", "",
                  "| engine | empty shader caches | warm caches |", "| --- | --- | --- |"]
        for engine in sorted({e for (e, _) in cold}):
            c = cold.get((engine, "cold"))
            w = cold.get((engine, "warm"))
            lines.append(f"| {engine} | {statistics.median(c):.2f} s | {statistics.median(w):.2f} s |"
                         if c and w else f"| {engine} | - | - |")
        ours_c, peer_c = cold.get(("vkgraph", "cold")), cold.get((PEER_VULKAN, "cold"))
        ours_w = cold.get(("vkgraph", "warm"))
        if ours_c and peer_c:
            r = statistics.median(ours_c) / statistics.median(peer_c)
            verdicts.append(f"- cold start: {r:.3f} of llama.cpp's (target <= 0.2): {'met' if r <= 0.2 else 'NOT met'}")
        if ours_w:
            w = statistics.median(ours_w)
            verdicts.append(f"- warm start: {w:.2f} s (target < 0.5 s): {'met' if w < 0.5 else 'NOT met'}")
    if verdicts:
        lines += ["", "Targets:", ""] + verdicts
    print("\n".join(lines))


if __name__ == "__main__":
    main()
