#!/usr/bin/env bash
# How often the performance gate of `cascade plan check` is wrong on the
# demo organisation (clever-api's BenchmarkStudents, -benchtime 200x):
#
#   bash bench/perfgate.sh [SAME] [SLOW]
#
# 1. SAME (default 50) checks of a plan whose base and head hold identical
#    code (clever-api@same-code changes only the README). Target: 0 fail.
# 2. SLOW (default 10) checks of a plan with the demo's slow "quick fix"
#    (clever-db@strict-where with clever-api@adapt-strict-where). Target:
#    every check fails the performance gate.
#
# Each check is a real `cascade plan check --json` with the default
# settings; only the performance gate's status is counted. Every check's
# status, reason and run count are kept in bench/out/perfgate-*.tsv. Other
# work on the machine is noise the gate must cope with: the script prints
# the load average before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
same=${1:-50}
slow=${2:-10}
out=$PWD/bench/out
ws=$out/perfgate-org
cache=$out/perfgate-cache
export GOTOOLCHAIN=local GOPROXY=off
go build -o "$out/cascade" ./cmd/cascade
if [ ! -f "$ws/cascade.yaml" ]; then
  echo "building the demo organisation in $ws ..." >&2
  rm -rf "$ws"
  go run ./bench/genperfgate -dir "$ws"
fi
mkdir -p "$cache"
cascade() { "$out/cascade" --workspace "$ws/cascade.yaml" --cache-dir "$cache" "$@"; }
at=2026-12-01T10:00:00-08:00 # a Tuesday morning, inside the demo's release window
for p in same slow; do
  [ -f "$ws/plans/$p.yaml" ] && rm "$ws/plans/$p.yaml"
done
cascade plan new same --title 'Identical code' --manager alice --change clever-api@same-code >/dev/null
cascade plan new slow --title 'Slow quick fix' --manager alice \
  --change clever-db@strict-where --change clever-api@adapt-strict-where >/dev/null

# check PLAN N: N checks of PLAN; one line per check in perfgate-PLAN.tsv:
# status, runs per side, seconds, reason.
check() {
  local plan=$1 n=$2 tsv=$out/perfgate-$1.tsv
  : >"$tsv"
  for i in $(seq "$n"); do
    local t0 t1 doc
    t0=$(date +%s.%N)
    doc=$(cascade plan check "$plan" --at "$at" --json || true)
    t1=$(date +%s.%N)
    jq -r --arg secs "$(echo "$t1 - $t0" | bc)" '
      .gates[] | select(.name == "performance")
      | [.status, ((.details[0] // "") | capture("(?<n>[0-9]+) runs per side").n // "-"), $secs, .reason] | @tsv' \
      <<<"$doc" >>"$tsv" || echo "error	-	-	$(jq -c . <<<"$doc" | head -c 300)" >>"$tsv"
    printf '%s %d/%d: %s\n' "$plan" "$i" "$n" "$(tail -1 "$tsv" | cut -f1-3)" >&2
  done
  local fail warn pass err runs secs
  fail=$(awk -F'\t' '$1 == "fail"' "$tsv" | wc -l)
  warn=$(awk -F'\t' '$1 == "warn"' "$tsv" | wc -l)
  pass=$(awk -F'\t' '$1 == "pass"' "$tsv" | wc -l)
  err=$(awk -F'\t' '$1 == "error"' "$tsv" | wc -l)
  runs=$(cut -f2 "$tsv" | grep -v '^-$' | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%d-%d (median %d)", a[1], a[NR], a[int((NR+1)/2)]}')
  secs=$(cut -f3 "$tsv" | grep -v '^-$' | sort -n | awk '{a[NR]=$1} END {if (NR) printf "%.0f s", a[int((NR+1)/2)]}')
  printf '%-5s %3d checks: %3d fail, %3d warn, %3d pass, %d error; runs per side %s; median check %s\n' \
    "$plan" "$n" "$fail" "$warn" "$pass" "$err" "$runs" "$secs"
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
check same "$same"
check slow "$slow"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
