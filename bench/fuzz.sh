#!/usr/bin/env bash
# Runs every native Go fuzz target of cascade for a while, one after the
# other, with one worker each (the machine may be shared).
#
#   bench/fuzz.sh [DURATION] [PATTERN]
#
# DURATION is go test's -fuzztime (default 10s; 10m for a long run);
# PATTERN, a regular expression, keeps only the targets it matches.
# Findings are written by go test under the package's testdata/fuzz/, where
# they become regression seeds once fixed. Prints each target's executions
# and exits non-zero if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
time=${1:-10s}
pattern=${2:-.}
failed=0
targets=$(grep -rl --include='*_test.go' '^func Fuzz' internal cmd | sort | while read -r f; do
  for name in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing.F).*/\1/p' "$f"); do
    echo "./$(dirname "$f") $name"
  done
done)
while read -r pkg name; do
  [ -n "$pkg" ] || continue
  echo "$pkg $name" | grep -Eq -- "$pattern" || continue
  log=$(mktemp)
  if go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$time" -parallel 1 >"$log" 2>&1; then
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1)
    echo "ok    $pkg $name (${execs:-no count})"
  elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log" \
      && [ "$(grep -c -- '--- FAIL' "$log")" -eq 1 ]; then
    # go's fuzzing engine reports its own time limit as a failure when the
    # limit falls during an execution that runs a process (the git
    # comparison): no input failed and none was written.
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1)
    echo "ok    $pkg $name (${execs:-no count}; stopped at the time limit mid-execution)"
  else
    failed=1
    echo "FAIL  $pkg $name"
    tail -30 "$log"
  fi
  rm -f "$log"
done <<<"$targets"
exit $failed
