#!/usr/bin/env python3
"""The table bench/compare.sh prints: every figure of one run beside its target, then each object where checkov's
CKV_K8S_43 and require-digest disagree, with a one-line reason. Reads the results directory compare.sh filled."""

import json
import math
import os
import re
import statistics
import sys

WORKLOAD_KINDS = {
    "Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController", "Job", "CronJob",
    "PodTemplate",
}
HEADLINE_REQUEST = "deployment-three-containers"


def load(results, name):
    with open(os.path.join(results, name)) as file:
        return json.load(file)


def bench_medians(results, name):
    """Request name -> its verdict and, per part, the median of the three rounds' p50s (`{name}.{1,2,3}.json`)."""
    rounds = [load(results, f"{name}.{n}.json")["requests"] for n in (1, 2, 3)]
    medians = {}
    for request in rounds[0]:
        same = [r for requests in rounds for r in requests if r["name"] == request["name"]]
        parts = {part: {"p50_ns": statistics.median(r["figures"][part]["p50_ns"] for r in same)}
                 for part in ("instantiate", "guest_call", "evaluation")}
        medians[request["name"]] = {"verdict": request["verdict"], "figures": parts}
    return medians


def gnu_time(path):
    """Wall seconds, CPU seconds and peak RSS (KiB) from `/usr/bin/time -v` output."""
    text = open(path).read()
    clock = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = 0.0
    for part in clock.split(":"):
        seconds = seconds * 60 + float(part)
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): (\S+)", text).group(1)) for kind in ("User", "System"))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, cpu, rss


def checkov_results(results, name):
    data = load(results, f"checkov-{name}.json")
    # One framework gives an object; several give a list.
    if isinstance(data, list):
        data = next(d for d in data if d.get("check_type") == "kubernetes")
    return data.get("results", {}), clock_seconds(results, f"checkov-{name}.seconds")


def clock_seconds(results, name):
    """Seconds between the two `date +%s.%N` readings of a `.seconds` file."""
    started, ended = map(float, open(os.path.join(results, name)).read().split())
    return ended - started


def objects_of_ours(report):
    """(file name, kind, namespace, name) -> our judged objects of workload kinds, with their lines."""
    objects = {}
    for file in report["files"]:
        for obj in file.get("objects", []):
            if obj.get("kind") not in WORKLOAD_KINDS or obj.get("verdict") not in ("accepted", "rejected"):
                continue
            key = (os.path.basename(file["file"]), obj["kind"], obj.get("namespace") or "default", obj.get("name") or "")
            objects.setdefault(key, []).append(obj)
    return objects


def objects_of_checkov(results):
    objects = {}
    for status, verdict in (("passed_checks", "passed"), ("failed_checks", "failed")):
        for check in results.get(status, []):
            kind, namespace, name = check["resource"].split(".", 2)
            key = (os.path.basename(check["file_path"]), kind, namespace, name)
            objects.setdefault(key, []).append((verdict, check["file_line_range"]))
    return objects


def reason(ours, checkov, kind):
    """Why the two verdicts differ, in one line."""
    message = (ours or {}).get("message", "")
    if ours is None:
        if kind not in WORKLOAD_KINDS:
            return f"checkov checks {kind}, a kind require-digest does not know (no pod spec it inspects)"
        return "require-digest did not judge this object (skipped or not found in the same place)"
    if checkov is None:
        return f"checkov did not report this {kind} (it checks only the kinds and places its CKV_K8S_43 knows)"
    if ours["verdict"] == "rejected" and checkov == "passed":
        if "image volume" in message:
            return "checkov does not look at image volumes (volumes[].image.reference); require-digest does"
        if "ephemeral container" in message:
            return "checkov does not look at ephemeralContainers; require-digest does"
        if "is invalid" in message or "unacceptable digest" in message:
            detail = message.split("is invalid: ", 1)[-1].splitlines()[0][:90]
            return f"checkov passes any image with an '@'; require-digest rejects the malformed reference ({detail})"
        return f"require-digest rejects what checkov passes: {message.splitlines()[0][:120]}"
    if ours["verdict"] == "accepted" and checkov == "failed":
        return "require-digest accepts (exempt, or nothing to run) what checkov fails: an image that is not a string, or a missing image list"
    return f"require-digest {ours['verdict']}, checkov {checkov}"


def differences(ours_report, checkov_res):
    ours = objects_of_ours(ours_report)
    theirs = objects_of_checkov(checkov_res)
    # Objects checkov names differently (generateName): match by file, kind and line instead.
    unmatched_theirs = {k: v for k, v in theirs.items() if k not in ours}
    for key in [k for k in ours if k not in theirs]:
        for obj in ours[key]:
            for other_key, entries in list(unmatched_theirs.items()):
                if other_key[0] == key[0] and other_key[1] == key[1]:
                    line_range = entries[0][1]
                    if line_range[0] <= obj["line"] <= line_range[1]:
                        theirs.setdefault(key, []).extend(entries)
                        theirs.pop(other_key, None)
                        unmatched_theirs.pop(other_key)
                        break
    compared, listed = 0, []
    for key in sorted(set(ours) | set(theirs)):
        our_objects = ours.get(key, [])
        their_verdicts = [verdict for verdict, _ in theirs.get(key, [])]
        for index in range(max(len(our_objects), len(their_verdicts))):
            obj = our_objects[index] if index < len(our_objects) else None
            verdict = their_verdicts[index] if index < len(their_verdicts) else None
            compared += 1
            agree = obj is not None and verdict is not None and (
                (obj["verdict"] == "accepted") == (verdict == "passed"))
            if not agree:
                file, kind, namespace, name = key
                where = f"{file}:{obj['line']}" if obj else file
                listed.append(
                    f"{where} {kind} {namespace}/{name}: require-digest {obj['verdict'] if obj else 'no verdict'}, "
                    f"checkov {verdict or 'no verdict'}: {reason(obj, verdict, kind)}")
    return compared, listed


def fmt_us(ns):
    return f"{ns / 1000:.1f} µs"


def main(results):
    rows = []

    def row(figure, measured, target="", passed=None):
        verdict = "" if passed is None else ("pass" if passed else "MISS")
        rows.append((figure, measured, target, verdict))

    size = os.path.getsize(os.path.join(results, "policy.wasm.copy"))
    row("policy.wasm size", f"{size / 1024:.1f} KiB ({size} bytes)", "<= 150 KiB", size <= 150 * 1024)

    native = load(results, "native.json")
    by_name = bench_medians(results, "bench")
    headline = by_name[HEADLINE_REQUEST]["figures"]
    evaluation = headline["evaluation"]["p50_ns"]
    row("fresh-instance evaluation, 3-container Deployment, p50 (median of 3 rounds)", fmt_us(evaluation), "<= 10 µs",
        evaluation <= 10_000)
    row("  of which: new instance (store, instantiate, wapc_init), p50", fmt_us(headline["instantiate"]["p50_ns"]))
    row("  of which: the guest's __guest_call, p50", fmt_us(headline["guest_call"]["p50_ns"]))
    alone = bench_medians(results, "bench-alone")[HEADLINE_REQUEST]["figures"]["evaluation"]["p50_ns"]
    row("  the same request alone in its process (no big request before it)", fmt_us(alone))
    row("  native rule on the same payload (criterion median)", fmt_us(native[HEADLINE_REQUEST]))
    ratio = evaluation / native[HEADLINE_REQUEST]
    row("wasm / native, 3-container Deployment (whole evaluation / native)", f"{ratio:.2f}x", "<= 3x", ratio <= 3)
    common = [n for n in by_name if n in native and not by_name[n]["verdict"].startswith("error")]
    whole = [by_name[n]["figures"]["evaluation"]["p50_ns"] / native[n] for n in common]
    guest = [by_name[n]["figures"]["guest_call"]["p50_ns"] / native[n] for n in common]
    geomean = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
    row(f"wasm / native, geometric mean over {len(common)} requests (whole evaluation)", f"{geomean(whole):.2f}x",
        "<= 3x", geomean(whole) <= 3)
    row(f"wasm / native, geometric mean over {len(common)} requests (guest call only)", f"{geomean(guest):.2f}x")
    # The floor the fresh instance sets: the whole evaluation with the guest's call replaced by the native rule.
    fixed = [(by_name[n]["figures"]["evaluation"]["p50_ns"] - by_name[n]["figures"]["guest_call"]["p50_ns"]
              + native[n]) / native[n] for n in common]
    row("  the same, were the guest's call as fast as native code (the new instance's cost alone)",
        f"{geomean(fixed):.2f}x")
    # Any policy's floor in this host: what a module that does nothing, in the same memory, costs per fresh instance
    # (it reads no request, so the median over them is the steadier figure), and the mean ratio with only that cost
    # on top of the native rule.
    nothing = {name: r["figures"]["evaluation"]["p50_ns"] for name, r in bench_medians(results, "do-nothing").items()}
    row("fresh-instance evaluation of a policy that does nothing, p50 (median over the requests)",
        fmt_us(statistics.median(nothing.values())))
    row("  wasm / native, geometric mean, were each evaluation only that cost plus the native rule",
        f"{geomean([(nothing[n] + native[n]) / native[n] for n in common]):.2f}x")

    numbers = sorted(int(name.split(".")[1]) for name in os.listdir(results)
                     if name.startswith("check-10k.") and name.endswith(".time"))
    runs = [gnu_time(os.path.join(results, f"check-10k.{n}.time")) for n in numbers]
    walls = [clock_seconds(results, f"check-10k.{n}.seconds") for n in numbers]
    ours_10k = load(results, "ours-10k.json")
    documents = ours_10k["summary"]["checked"]
    wall = statistics.median(walls)
    cpu = statistics.median(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    throughput = documents / wall
    row(f"check, {documents} documents (YAML parsing included), median of {len(runs)}",
        f"{throughput:,.0f} documents/s ({wall:.3f} s wall, {cpu:.2f} s CPU; runs "
        f"{documents / max(walls):,.0f} to {documents / min(walls):,.0f})", ">= 20 000 documents/s",
        throughput >= 20_000)
    row("check peak RSS, 10 000-document file", f"{rss / 1024:.0f} MiB", "<= 150 MB", rss * 1024 <= 150_000_000)

    cold = load(results, "cold-runs.json")
    row("cold `run` of one request, compiled-module cache warm (median of 20)", f"{cold['warm_cache_ms']:.1f} ms",
        "<= 10 ms", cold["warm_cache_ms"] <= 10)
    row("cold `run` of one request, no cache: compiles (median of 5)", f"{cold['no_cache_ms']:.0f} ms")

    comparisons = []
    for name, label in (("10k", "10 000-document file"), ("real", "real/ (20 files)"), ("fixtures", "fixture manifests")):
        try:
            checkov_res, checkov_seconds = checkov_results(results, name)
        except (OSError, StopIteration, ValueError) as error:
            row(f"checkov CKV_K8S_43, {label}", f"did not run ({error})")
            continue
        ours_report = load(results, f"ours-{name}.json")
        if name == "10k":
            ours_seconds = wall
        elif name == "real":
            ours_seconds = gnu_time(os.path.join(results, "check-real.time"))[0]
        else:
            ours_seconds = None
        if ours_seconds:
            speedup = checkov_seconds / ours_seconds
            row(f"checkov CKV_K8S_43, {label}", f"{checkov_seconds:.1f} s (require-digest {ours_seconds:.2f} s)")
            row(f"  require-digest faster than checkov, {label}", f"{speedup:.0f}x", ">= 100x" if name == "10k" else "",
                speedup >= 100 if name == "10k" else None)
        compared, listed = differences(ours_report, checkov_res)
        row(f"  objects whose verdicts differ, {label}", f"{len(listed)} of {compared}")
        comparisons.append((label, listed))

    width = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("figure", "measured", "target", "")
    print(f"require-digest benchmarks: {open(os.path.join(results, 'nproc.txt')).read().strip()} cores, "
          f"load at start: {open(os.path.join(results, 'uptime.txt')).read().split('load average:')[-1].strip()}")
    for r in [header] + rows:
        print("  ".join(cell.ljust(width[i]) for i, cell in enumerate(r)).rstrip())
    for label, listed in comparisons:
        print(f"\nverdict differences, {label}: {len(listed)}")
        for line in listed:
            print(f"  {line}")


if __name__ == "__main__":
    main(sys.argv[1])
