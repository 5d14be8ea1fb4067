#!/usr/bin/env bash
# What the sandbox costs.
#
#   bash bench/sandbox.sh [RUNS] [N]
#
# 1. `true` run through sandbox.Run isolated (namespaces, mounts, control
#    group, seccomp, Landlock, cascade re-executed as init) and unisolated
#    (environment filter and process group only), 100 runs each: the
#    per-command cost (target: <= 100 ms). A Go benchmark: BenchmarkTrue in
#    internal/sandbox.
# 2. `cascade verify --no-cache --all-packages` on bench/verify.sh's
#    synthetic workspace (1 upstream, N downstreams, default 20) with the
#    sandbox and with --unsafe-sandbox, alternating, RUNS (default 3) times
#    each, median: the cost on a verification (target: within 10%). Both
#    sides do the same work; the sandboxed side also runs the fetch phase
#    (go list -deps -test -export) before each test command.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
n=${2:-20}
pkgs=3
out=$PWD/bench/out
ws=$out/vws-$n-$pkgs
export GOTOOLCHAIN=local GOPROXY=off

echo "1. true, 100 runs each:"
go test ./internal/sandbox -run '^$' -bench '^BenchmarkTrue$' -benchtime 100x | grep -E '^BenchmarkTrue' |
  awk '{printf "   %-32s %8.1f ms/command\n", $1, $3/1e6}'

if [ ! -f "$ws/cascade.yaml" ]; then
  echo "generating the workspace in $ws ..." >&2
  rm -rf "$ws"
  go run ./bench/genverify -n "$n" -pkgs "$pkgs" -dir "$ws"
fi
go build -o "$out/cascade" ./cmd/cascade
cache=$out/scache-$pkgs
mkdir -p "$cache"
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
verify() { "$out/cascade" --workspace "$ws/cascade.yaml" --cache-dir "$cache" verify up@cand1 --no-cache --all-packages "$@" >/dev/null || true; }
echo "warming caches ..." >&2
verify
verify --unsafe-sandbox
declare -a t_in t_out
for r in $(seq "$runs"); do
  s=$(now); verify; e=$(now); t_in+=("$(echo "$e - $s" | bc)")
  s=$(now); verify --unsafe-sandbox; e=$(now); t_out+=("$(echo "$e - $s" | bc)")
  printf '   run %d: sandboxed %.2fs  unisolated %.2fs\n' "$r" "${t_in[-1]}" "${t_out[-1]}"
done
mi=$(median "${t_in[@]}"); mo=$(median "${t_out[@]}")
printf '2. cascade verify --no-cache --all-packages, %d downstreams, median of %d runs on %d cores:\n' "$n" "$runs" "$(nproc)"
printf '   sandboxed      %6.2fs\n   unisolated     %6.2fs\n   ratio          %6.2f (target <= 1.10)\n' "$mi" "$mo" "$(echo "$mi / $mo" | bc -l)"
