#!/usr/bin/env bash
# Benchmark: `cascade graph --format json` on a synthetic workspace of N local
# repos (default 1000), cold (empty cache) and warm (nothing changed), side
# by side with what a user would script: a shell loop running
# `go mod edit -json` in each Go repo and `cat package.json` in each npm one.
#
#   bash bench/graph.sh [N] [RUNS]
#
# Prints each run's wall time and the medians, and the ratios to the loop.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
runs=${2:-5}
out=bench/out
mkdir -p "$out"
ws="$out/ws-$n"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
if [ ! -f "$ws/cascade.yaml" ]; then
  echo "generating $n repos in $ws ..." >&2
  rm -rf "$ws"
  go run ./bench/genworkspace -n "$n" -dir "$ws"
fi
go build -o "$out/cascade" ./cmd/cascade
cascade="$PWD/$out/cascade"

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

loop() {
  for d in "$ws"/repos/*/; do
    if [ -f "$d/go.mod" ]; then
      (cd "$d" && go mod edit -json) >/dev/null
    else
      cat "$d/package.json" >/dev/null
    fi
  done
}

declare -a t_loop t_cold t_warm
for r in $(seq "$runs"); do
  s=$(now); loop; e=$(now); t_loop+=("$(elapsed "$s" "$e")")
  cache=$(mktemp -d)
  s=$(now); "$cascade" --workspace "$ws/cascade.yaml" --cache-dir "$cache" graph --format json >/dev/null; e=$(now)
  t_cold+=("$(elapsed "$s" "$e")")
  s=$(now); "$cascade" --workspace "$ws/cascade.yaml" --cache-dir "$cache" graph --format json >/dev/null; e=$(now)
  t_warm+=("$(elapsed "$s" "$e")")
  rm -rf "$cache"
  printf 'run %d: loop %.3fs  cold %.3fs  warm %.3fs\n' "$r" "${t_loop[-1]}" "${t_cold[-1]}" "${t_warm[-1]}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ml=$(median "${t_loop[@]}"); mc=$(median "${t_cold[@]}"); mw=$(median "${t_warm[@]}")
printf '\n%d repos, median of %d runs on %d cores:\n' "$n" "$runs" "$(nproc)"
printf '  shell loop (go mod edit -json / cat)   %.3fs\n' "$ml"
printf '  cascade graph --format json, cold      %.3fs  (%.2f x the loop; target <= 1.0)\n' "$mc" "$(echo "$mc / $ml" | bc -l)"
printf '  cascade graph --format json, warm      %.3fs  (%.2f x the loop; target <= 0.15)\n' "$mw" "$(echo "$mw / $ml" | bc -l)"
