#!/usr/bin/env bash
# bench/compare.sh: ONE table from one run, over ../shared/corpus (or $CORPUS), of every speed and size figure of
# issue 6 beside its target, then the objects where checkov's CKV_K8S_43 and require-digest disagree, each with why.
#
#   bench/compare.sh              # builds what it needs, takes 15-30 minutes on 2 cores (checkov is slow)
#   CORPUS=/path/to/corpus CHECKOV_VENV=/path/venv bench/compare.sh
#
# What it runs, all on this machine in this run:
#   - scripts/build-policy.sh and host-harness as released (scripts/build-dist.sh: thin LTO and PGO);
#   - `host-harness check` on the 10 000-document corpus file (unpacked to a temp dir), under /usr/bin/time -v for
#     the peak RSS, five times (the median counts), and on real/;
#   - cold `host-harness run` of one request as whole processes: 20 with a warm compiled-module cache, 5 without;
#   - `host-harness bench --output json` on the fixture requests and bench/requests (a 3-container Deployment),
#     with policy.wasm and with bench/do-nothing-policy.wat (what a fresh instance costs with no rule to run), in
#     three rounds (each figure the median of its three);
#   - the policy crate's criterion bench of the native rule on the same requests (short measurement time): the
#     wasm/native ratio;
#   - checkov (pip, in a virtualenv) with `--check CKV_K8S_43 --skip-download` on the same files.
# bench/report.py turns the results into the table. Not for CI: it is long, and its figures are for people.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# Canonical: checkov finds nothing in a directory given with `..` in its path.
corpus=$(cd "${CORPUS:-$root/../shared/corpus}" 2>/dev/null && pwd -P) ||
  { echo "compare: no corpus directory ${CORPUS:-$root/../shared/corpus}; set CORPUS" >&2; exit 2; }
venv=${CHECKOV_VENV:-$root/target/bench/checkov-venv}
work=$(mktemp -d "${TMPDIR:-/tmp}/require-digest-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
log() { echo "compare: $*" >&2; }

[ -f "$corpus/corpus_10k.yaml.gz" ] && [ -d "$corpus/real" ] ||
  { echo "compare: no corpus at $corpus (want corpus_10k.yaml.gz and real/); set CORPUS" >&2; exit 2; }
if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (Debian: time) for peak RSS"
  apt-get install -y -qq time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi

log "building policy.wasm and host-harness (as released: dist profile and PGO; 15 minutes or so)"
"$root/scripts/build-policy.sh" >&2
harness=$("$root/scripts/build-dist.sh")
policy=$root/policy.wasm
# The compiled-module cache of this run only: "warm" means warmed here.
export XDG_CACHE_HOME=$work/cache

# The results stay after the run (the table is printed from them): `python3 bench/report.py target/bench/results`
# prints it again, and the JSON behind every figure can be read there.
results=$root/target/bench/results
rm -rf "$results"
mkdir -p "$work/10k" "$results"
gzip -dc "$corpus/corpus_10k.yaml.gz" >"$work/10k/corpus_10k.yaml"
cp "$root/policy.wasm" "$results/policy.wasm.copy"
uptime >"$results/uptime.txt"
nproc >"$results/nproc.txt"

log "host-harness check on the 10 000-document file (5 runs)"
"$harness" run "$policy" -r "$root/tests/fixtures/requests/pod-pinned.json" >/dev/null # warms the cache
for run in 1 2 3 4 5; do
  # The wall time from the clock, not from time(1), which gives it in hundredths of a second: 2% of a 0.5 s run.
  started=$(date +%s.%N)
  # Exit 1: the corpus has rejected objects, as it should.
  /usr/bin/time -v -o "$results/check-10k.$run.time" \
    "$harness" check "$policy" "$work/10k/corpus_10k.yaml" --output json >"$results/ours-10k.json" || [ $? = 1 ]
  ended=$(date +%s.%N)
  echo "$started $ended" >"$results/check-10k.$run.seconds"
done
log "host-harness check on real/"
/usr/bin/time -v -o "$results/check-real.time" \
  "$harness" check "$policy" "$corpus/real" --output json >"$results/ours-real.json" || [ $? = 1 ]
"$harness" check "$policy" "$root/tests/fixtures/manifests" --output json >"$results/ours-fixtures.json" || [ $? = 1 ]

log "cold runs of one request (whole process)"
python3 - "$harness" "$policy" "$root/bench/requests/deployment-three-containers.json" >"$results/cold-runs.json" <<'EOF'
import json, statistics, subprocess, sys, time
harness, policy, request = sys.argv[1:]
def median_ms(extra, runs):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([harness, "run", *extra, policy, "-r", request], stdout=subprocess.DEVNULL, check=True)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)
print(json.dumps({"warm_cache_ms": median_ms([], 20), "no_cache_ms": median_ms(["--no-cache"], 5)}))
EOF

log "host-harness bench (fresh instance per evaluation), three rounds"
# Three rounds, each figure the median of its three: a few seconds of a slower machine (a virtualised one has them)
# then moves one round, not the table. Each round measures policy.wasm on every request; the 3-container Deployment
# alone in its process (over every request the 300-container fixture comes before it; the two figures agreeing shows
# a big request leaves no cost behind, bench/README.md); and a policy that does nothing, in the same 128 KiB of
# memory: what a fresh instance costs with no rule to run.
for round in 1 2 3; do
  "$harness" bench "$policy" --iterations 3000 --warmup 300 --output json >"$results/bench.$round.json"
  "$harness" bench "$policy" "$root/bench/requests/deployment-three-containers.json" --iterations 3000 --warmup 300 \
    --output json >"$results/bench-alone.$round.json"
  "$harness" bench "$root/bench/do-nothing-policy.wat" --iterations 3000 --warmup 300 --output json \
    >"$results/do-nothing.$round.json"
done

log "criterion: the native rule on the same requests"
(cd "$root" && cargo bench -p require-digest --bench validate -- --warm-up-time 0.5 --measurement-time 1 --noplot) \
  >"$results/criterion.log" 2>&1
python3 - "$root/target/criterion/validate" >"$results/native.json" <<'EOF'
import json, os, sys
group = sys.argv[1]
native = {}
for name in sorted(os.listdir(group)):
    estimates = os.path.join(group, name, "new", "estimates.json")
    if os.path.exists(estimates):
        native[name] = json.load(open(estimates))["median"]["point_estimate"]
print(json.dumps(native))
EOF

if [ ! -x "$venv/bin/checkov" ]; then
  log "installing checkov into $venv (PyPI)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q checkov >&2
fi
run_checkov() { # $1 = directory, $2 = name of the results
  local started ended
  started=$(date +%s.%N)
  # Exit 1: failed checks, as expected.
  "$venv/bin/checkov" -d "$1" --framework kubernetes --check CKV_K8S_43 --skip-download -o json \
    >"$results/checkov-$2.json" 2>"$results/checkov-$2.err" || [ $? = 1 ]
  ended=$(date +%s.%N)
  echo "$started $ended" >"$results/checkov-$2.seconds"
  grep -q '"check_type": "kubernetes"' "$results/checkov-$2.json" ||
    { echo "compare: checkov found no Kubernetes resources in $1; see $results/checkov-$2.json" >&2; exit 2; }
}
log "checkov on real/"
run_checkov "$corpus/real" real
log "checkov on the fixture manifests"
run_checkov "$root/tests/fixtures/manifests" fixtures
log "checkov on the 10 000-document file (takes a while)"
run_checkov "$work/10k" 10k
"$venv/bin/checkov" --version >"$results/checkov-version.txt" 2>/dev/null || true

python3 "$root/bench/report.py" "$results"
