#!/usr/bin/env bash
# Benchmark: `cascade replay` side by side with a small Node.js script doing
# the same counting with ajv (bench/replay/ajv-replay.js), on two generated
# logs of N JSON lines each (default 1,000,000, about 420 bytes a line, 5%
# newly rejected):
#
#   distinct  the query documents hold student ids, names, RFC 3339
#             timestamps and cursors, built afresh for 90% of the lines: a
#             verdict remembered by document text rarely applies;
#   repeated  every document is one of 200: much repetition, as in logs of
#             a few popular queries (cascade's memo helps, the peer has none).
#
# Both sides get the same number of threads: cascade --jobs J, the peer J
# worker threads (J=1: everything on its main thread). Each row gives the
# wall time's min/median/max over RUNS runs, lines/s at the median, the CPU
# used (200% = two cores busy) and the peak memory.
#
#   bash bench/replay.sh [N] [RUNS] [JOBS...]     JOBS default: 1 and nproc
#
# ajv is installed with npm into a temporary directory, removed at the end.
# Needs go, node, npm and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
shift $(($# > 2 ? 2 : $#))
jobs=("$@")
[ ${#jobs[@]} -gt 0 ] || jobs=(1 "$(nproc)")
out=$PWD/bench/out
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The logs (kept in bench/out between runs).
declare -A logs=([distinct]=0 [repeated]=200) distinctInfo
for kind in distinct repeated; do
  log=$out/replay-$kind-$n.jsonl
  if [ ! -f "$log" ] || [ ! -f "$log.info" ]; then
    go run ./bench/genreplay -n "$n" -docs "${logs[$kind]}" > "$log" 2> "$log.info"
  fi
  distinctInfo[$kind]=$(sed -n 's/.*lines, \(.*\)$/\1/p' "$log.info")
done

(cd "$tmp" && npm install --prefix "$tmp" --no-save --no-audit --no-fund --loglevel=error ajv@8 >/dev/null)
go build -o "$tmp/cascade" ./cmd/cascade
old=bench/replay/old.json new=bench/replay/new.json

# run KIND TOOL J: RUNS timed runs; prints one row and checks the counts.
stats() { sort -n | awk '{a[NR]=$1} END {printf "%.2f %.2f %.2f\n", a[1], a[int((NR+1)/2)], a[NR]}'; }
run() {
  local kind=$1 tool=$2 j=$3 log=$out/replay-$1-$n.jsonl
  local times=() cpus=() mems=()
  for r in $(seq "$runs"); do
    if [ "$tool" = cascade ]; then
      /usr/bin/time -o "$tmp/time" -f '%e %P %M' "$tmp/cascade" replay --old $old --new $new \
        --field where --group-by partner --jobs "$j" --json "$log" > "$tmp/$tool.json"
    else
      NODE_PATH=$tmp/node_modules /usr/bin/time -o "$tmp/time" -f '%e %P %M' \
        node bench/replay/ajv-replay.js $old $new "$log" where partner "$j" > "$tmp/$tool.json"
    fi
    read -r t c m < "$tmp/time"
    times+=("$t"); cpus+=("${c%\%}"); mems+=("$m")
  done
  local tmin tmed tmax
  read -r tmin tmed tmax < <(printf '%s\n' "${times[@]}" | stats)
  printf '%-9s %-8s %7s  %6s / %6s / %6s s  %9.0f  %5s%%  %5d\n' "$kind" "$tool" "$j" "$tmin" "$tmed" "$tmax" \
    "$(echo "$n / $tmed" | bc -l)" "$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
    "$(($(printf '%s\n' "${mems[@]}" | sort -n | tail -1) / 1024))"
  echo "$tmed" > "$tmp/median-$kind-$tool-$j"
}

# Both must count the same.
same() {
  node -e '
    const [a, b] = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
    for (const k of ["total", "documents", "parse_errors", "accepted_by_both", "newly_rejected", "newly_accepted", "still_rejected"])
      if (a[k] !== b[k]) { console.error(`counts differ on ${k}: cascade ${a[k]}, ajv ${b[k]}`); process.exit(1); }
    console.log(a.newly_rejected);' "$tmp/cascade.json" "$tmp/ajv.json"
}

printf '%s lines a log (%s MB), %s runs each, on a machine with %s cores (load %s)\n' "$n" \
  "$(($(stat -c %s "$out/replay-distinct-$n.jsonl") / 1000000))" "$runs" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
for kind in distinct repeated; do
  printf '  %-9s %s\n' "$kind" "${distinctInfo[$kind]}"
done
printf '\n%-9s %-8s %7s  %-26s  %9s  %6s  %5s\n' LOG TOOL THREADS 'WALL min / median / max' 'LINES/S' CPU 'PEAK MB'
for kind in distinct repeated; do
  for j in "${jobs[@]}"; do
    run "$kind" cascade "$j"
    run "$kind" ajv "$j"
    nr=$(same)
  done
  echo "          both count $nr newly rejected"
done
echo
for kind in distinct repeated; do
  for j in "${jobs[@]}"; do
    printf 'cascade / ajv, %-8s %s thread(s) each: %.2f (median wall time; below 1 is faster)\n' "$kind," "$j" \
      "$(echo "$(cat "$tmp/median-$kind-cascade-$j") / $(cat "$tmp/median-$kind-ajv-$j")" | bc -l)"
  done
done
