#!/usr/bin/env python3
"""bench/lists.py: how `host-harness check` scales with the number of items in a `kind: List` (issue 23).

Writes what `kubectl get pods -A -o json` prints (a JSON List of Pods), the same List in YAML, and the same Pods as
separate `---` documents, for 1 000, 10 000 and 50 000 Pods; runs `host-harness check POLICY FILE -q` on each under
GNU time, and prints one table: seconds per 1 000 items, peak RSS against the file's size, and how the 50 000-item
List compares with 50 000 separate documents. Figures for people, not a test: run it on a quiet machine.

    python3 bench/lists.py [HARNESS] [POLICY]     (defaults: target/release/host-harness, policy.wasm)
"""
import json
import os
import subprocess
import sys
import tempfile

SIZES = [1_000, 10_000, 50_000]
DIGEST = "sha256:" + "ab" * 32


def pod(index):
    name = f"web-{index:06d}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": f"team-{index % 50}",
            "labels": {"app": "web", "pod-template-hash": "7d9f8b6c5"},
            "uid": f"00000000-0000-0000-0000-{index:012d}",
        },
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx:1.27" if index % 3 else f"nginx:1.27@{DIGEST}",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}],
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"name": "sidecar", "image": f"registry.example.com/proxy:2.1@{DIGEST}"},
            ],
            "nodeName": f"node-{index % 20}",
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "app", "image": "nginx:1.27", "imageID": f"docker.io/library/nginx@{DIGEST}", "ready": True},
                {"name": "sidecar", "image": "registry.example.com/proxy:2.1",
                 "imageID": f"registry.example.com/proxy@{DIGEST}", "ready": True},
            ],
        },
    }


def yaml_scalar(value):
    # JSON's scalars are YAML's, and quoting every string keeps `nginx:1.27` and `true` what they are.
    return json.dumps(value)


def to_yaml(value, indent=0):
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(to_yaml(item, indent + 2))
            else:
                lines.append(f"{pad}{key}: {yaml_scalar(item)}")
    else:
        for item in value:
            nested = to_yaml(item, indent + 2)
            first = nested[0].lstrip()
            lines.append(f"{pad}- {first}")
            lines.extend(nested[1:])
    return lines


def write_inputs(directory, count):
    pods = [pod(i) for i in range(count)]
    listing = {"apiVersion": "v1", "kind": "List", "items": pods, "metadata": {"resourceVersion": ""}}
    paths = {}
    paths["JSON List"] = os.path.join(directory, f"list-{count}.json")
    with open(paths["JSON List"], "w") as out:
        json.dump(listing, out, indent=4)
    paths["YAML List"] = os.path.join(directory, f"list-{count}.yaml")
    with open(paths["YAML List"], "w") as out:
        out.write("\n".join(to_yaml(listing)) + "\n")
    paths["documents"] = os.path.join(directory, f"documents-{count}.yaml")
    with open(paths["documents"], "w") as out:
        for item in pods:
            out.write("---\n" + "\n".join(to_yaml(item)) + "\n")
    return paths


def run(harness, policy, path):
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", harness, "check", policy, path, "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"lists: check failed on {path} (exit {result.returncode}): {result.stderr[-2000:]}")
    seconds, kib = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) * 1024


def main():
    harness = sys.argv[1] if len(sys.argv) > 1 else "target/release/host-harness"
    policy = sys.argv[2] if len(sys.argv) > 2 else "policy.wasm"
    if not os.path.exists("/usr/bin/time"):
        sys.exit("lists: GNU time is needed for peak RSS (Debian: apt-get install time)")
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        # The process's own memory (binary, compiled module, instance pool), whatever the input: an empty file's run.
        empty = os.path.join(directory, "empty.yaml")
        open(empty, "w").close()
        _, baseline = run(harness, policy, empty)
        for count in SIZES:
            paths = write_inputs(directory, count)
            for form, path in paths.items():
                seconds, rss = run(harness, policy, path)
                size = os.path.getsize(path)
                rows.append((form, count, seconds, size, rss))
                os.remove(path)
    print(f"process baseline (an empty file): {baseline / 2**20:.1f} MiB peak RSS")
    print(f"{'input':<12} {'items':>7} {'seconds':>8} {'s / 1000 items':>15} {'file MiB':>9} {'peak RSS MiB':>13} "
          f"{'RSS / file':>11} {'(RSS - baseline) / file':>24}")
    for form, count, seconds, size, rss in rows:
        print(f"{form:<12} {count:>7} {seconds:>8.2f} {seconds / count * 1000:>15.3f} {size / 2**20:>9.1f} "
              f"{rss / 2**20:>13.1f} {rss / size:>11.2f} {(rss - baseline) / size:>24.2f}")
    for form in ("JSON List", "YAML List"):
        per = {count: seconds / count for f, count, seconds, _, _ in rows if f == form}
        print(f"{form}: s/1000 items at {SIZES[-1]} over at {SIZES[0]}: {per[SIZES[-1]] / per[SIZES[0]]:.2f}x (target <= 1.5)")
    biggest = {f: seconds for f, count, seconds, _, _ in rows if count == SIZES[-1]}
    for form in ("JSON List", "YAML List"):
        print(f"{form} of {SIZES[-1]} against {SIZES[-1]} documents: {biggest[form] / biggest['documents']:.2f}x "
              f"(target <= 1.20)")


if __name__ == "__main__":
    main()
