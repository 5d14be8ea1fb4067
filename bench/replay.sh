#!/usr/bin/env bash
# Benchmark: `cascade replay` on a generated log of N JSON lines (default
# 1,000,000, about 300 bytes each, 5% newly rejected), side by side with a
# small Node.js script doing the same counting with ajv.
#
#   bash bench/replay.sh [N] [RUNS]
#
# ajv is installed from the npm registry into bench/out/node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
out=$PWD/bench/out
mkdir -p "$out"
log=$out/requests-$n.jsonl
[ -f "$log" ] || go run ./bench/genreplay -n "$n" > "$log"
[ -d "$out/node_modules/ajv" ] || (cd "$out" && npm install --no-save --no-audit --no-fund ajv@8 >/dev/null)
go build -o "$out/cascade" ./cmd/cascade
old=bench/replay/old.json new=bench/replay/new.json
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -a tc ta mc ma
for r in $(seq "$runs"); do
  s=$(now)
  /usr/bin/time -o "$out/time.txt" -f "%M" "$out/cascade" replay --old $old --new $new --field where --group-by partner --json "$log" > "$out/cascade.json"
  e=$(now); tc+=("$(echo "$e - $s" | bc)"); mc+=("$(cat "$out/time.txt")")
  s=$(now)
  NODE_PATH=$out/node_modules /usr/bin/time -o "$out/time.txt" -f "%M" node bench/replay/ajv-replay.js $old $new "$log" where partner > "$out/ajv.json"
  e=$(now); ta+=("$(echo "$e - $s" | bc)"); ma+=("$(cat "$out/time.txt")")
  printf 'run %d: cascade %.2fs (%d MB)  ajv %.2fs (%d MB)\n' "$r" "${tc[-1]}" "$((${mc[-1]} / 1024))" "${ta[-1]}" "$((${ma[-1]} / 1024))"
done
# Both must count the same.
c=$(grep -o '"newly_rejected": [0-9]*' "$out/cascade.json" | head -1 | grep -o '[0-9]*$')
a=$(grep -o '"newly_rejected":[0-9]*' "$out/ajv.json" | head -1 | grep -o '[0-9]*$')
[ "$c" = "$a" ] || { echo "counts differ: cascade $c, ajv $a" >&2; exit 1; }
mt=$(median "${tc[@]}"); at=$(median "${ta[@]}")
printf '\n%d lines (%s MB), median of %d runs on %d cores; both count %s newly rejected:\n' "$n" "$(($(stat -c %s "$log") / 1000000))" "$runs" "$(nproc)" "$c"
printf '  cascade replay   %.2fs  %.0f lines/s (target >= 400000), peak %d MB (target <= 200)\n' "$mt" "$(echo "$n / $mt" | bc -l)" "$(($(printf '%s\n' "${mc[@]}" | sort -n | tail -1) / 1024))"
printf '  ajv (Node.js)    %.2fs  cascade = %.2f x ajv (target <= 1.0)\n' "$at" "$(echo "$mt / $at" | bc -l)"
