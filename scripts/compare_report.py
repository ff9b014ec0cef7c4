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
PEER_VULKAN = "llama.cpp Vulkan"  # the package's prebuilt libraries
PEER_CPU = "llama.cpp CPU"
PEER_VULKAN_NATIVE = "llama.cpp Vulkan (native)"  # built here: -DGGML_VULKAN=ON -DGGML_NATIVE=ON
PEER_CPU_NATIVE = "llama.cpp CPU (native)"
PEERS = [PEER_VULKAN_NATIVE, PEER_VULKAN, PEER_CPU_NATIVE, PEER_CPU]
# Targets, as ratios of vkgraph to the stronger of the two builds of a peer.
TARGETS = {("tg", "Vulkan"): 5.0, ("pp", "Vulkan"): 3.0, ("tg", "CPU"): 0.25}
BUILDS = {"Vulkan": (PEER_VULKAN_NATIVE, PEER_VULKAN), "CPU": (PEER_CPU_NATIVE, PEER_CPU)}


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
        "Peers: llama.cpp built here with -DGGML_VULKAN=ON -DGGML_NATIVE=ON (native) and the package's "
        "prebuilt libraries; ratios are vkgraph's t/s over each.",
        "",
        "| model | test | vkgraph t/s | Vulkan native | Vulkan prebuilt | CPU native | CPU prebuilt | "
        "vs Vulkan native | vs Vulkan prebuilt | vs CPU native | vs CPU prebuilt |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts = []
    for model, test in sorted({(m, t) for (m, t, _) in median}, key=lambda k: (k[0], k[1][:2] != "pp", k[1])):
        ours = median.get((model, test, OURS))
        peers = {name: median.get((model, test, name)) for name in PEERS}

        def fmt(x):
            return "-" if x is None else f"{x:.1f}"

        def ratio(peer):
            return None if ours is None or not peer else ours / peer

        ratios = {name: ratio(tps) for name, tps in peers.items()}
        lines.append(f"| {model} | {test} | {fmt(ours)} | " + " | ".join(fmt(peers[n]) for n in PEERS) + " | " +
                     " | ".join("-" if ratios[n] is None else f"{ratios[n]:.2f}x" for n in PEERS) + " |")
        if model.startswith("smollm2"):
            for (kind, backend), target in TARGETS.items():
                # Against the stronger build of the peer on this model and test.
                measured = [(peers[n], n) for n in BUILDS[backend] if peers[n]]
                if not test.startswith(kind) or ours is None or not measured:
                    continue
                tps, name = max(measured)
                r = ours / tps
                state = "met" if r >= target else "NOT met"
                verdicts.append(f"- {model} {test} vs {name}: {r:.2f}x (target {target}x): {state}")

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
