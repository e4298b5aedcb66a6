#!/usr/bin/env bash
# Runs each fuzz target for SECONDS, one after another (one libFuzzer job at a time: the machine's cores are shared),
# growing the corpus under fuzz/corpus/<target>/ (git-ignored) from the committed seeds in fuzz/seeds/<target>/.
#
#   fuzz/run.sh SECONDS [TARGET...]        (default: every target in fuzz/Cargo.toml)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Built with debug assertions (overflow
# checks) and without a sanitizer: the policy is safe Rust, so throughput buys more than AddressSanitizer would.
# Each target's libFuzzer output is kept in fuzz/logs/<target>.log; a finding stops that target, leaves its input in
# fuzz/artifacts/<target>/ and makes the script exit non-zero after the remaining targets have run.
# Afterwards the last line of each log with `#N`, `cov:` and `ft:` and the final stat:: lines are printed.
set -uo pipefail

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
cd "$(dirname "$0")"

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

build_flags=(--sanitizer none --debug-assertions)
# A build directory of one's own (CARGO_TARGET_DIR) where the tree is shared; cargo-fuzz must be told it to find the
# binaries it builds there.
[[ -n ${CARGO_TARGET_DIR:-} ]] && build_flags+=(--target-dir "$CARGO_TARGET_DIR")
cargo +nightly fuzz build "${build_flags[@]}" || exit 2

mkdir -p logs
failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    seeds=()
    [[ -d "seeds/$target" ]] && seeds=("seeds/$target")
    echo "== $target: ${seconds}s"
    # -jobs=1: a single job, run by libFuzzer in a child process that writes fuzz-0.log; we move that log aside.
    if ! cargo +nightly fuzz run "${build_flags[@]}" "$target" "corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -jobs=1 -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        >"logs/$target.driver.log" 2>&1; then
        failed+=("$target")
    fi
    mv -f fuzz-0.log "logs/$target.log" 2>/dev/null || cp "logs/$target.driver.log" "logs/$target.log"
    # libFuzzer's status lines: "#<executions> <event> cov: <edges> ft: <features> corp: ..."
    grep -E '^#[0-9]+' "logs/$target.log" | tail -n 1
    grep -E '^stat::|^(==[0-9]+== )?ERROR|panicked' "logs/$target.log"
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "findings in: ${failed[*]} (inputs under fuzz/artifacts/)"
    exit 1
fi
