#!/usr/bin/env bash
# Benchmarks of `cascade verify` on a synthetic workspace: one upstream Go
# module with 10 packages and N (default 20) Go downstreams; the candidates
# change one package (p0), which half of the downstreams import.
#
#   bash bench/verify.sh [N] [RUNS] [PACKAGES]
#
# PACKAGES (default 3) is how many packages each downstream has; two of
# them reach the upstream, the others stand alone.
#
# What each side does:
# - The peer is the shell loop a release engineer writes: for every
#   downstream, sequentially, extract it at its baseline and run
#   `go test -count=1 ./...` against the upstream's v1.0.0 (a replace to an
#   extracted copy), then extract it again and run it against the
#   candidate. Nothing else: `go test` compiles every package it is given,
#   as cascade relies on too; -count=1 because a verification runs the
#   tests (cascade does too: go's test cache does not know every input a
#   test reads). It runs in fixed directories, as a CI
#   workspace does (go's caches key on source paths); the same loop in a new
#   temporary directory each time is shown too.
# - `cascade verify --all-packages --no-cache` does the same work: every
#   downstream at its baseline and with the candidate, `go test -json` on
#   every package, results not cached, the same warm GOCACHE; on top it
#   serves the modules through its own proxy (replace to a version rather
#   than a directory) and runs two downstreams at a time (--jobs defaults to
#   the cores; the loop's `go test` also uses every core).
# - `cascade verify --no-cache` does less work: impact selection tests only
#   the packages that import the changed one, and skips the downstreams that
#   import none of it. Its figure against --all-packages is the saving of
#   selection (target: >= 2x), not a comparison with the loop.
# - A new candidate pushed after a warm run: `verify up@cand1` fills the
#   result cache, then `verify up@cand2` reuses every baseline; the loop has
#   no result cache and would run the baselines again (its figure is the
#   fixed-directory loop's).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
runs=${2:-3}
pkgs=${3:-3}
out=$PWD/bench/out
ws=$out/vws-$n-$pkgs
export GOTOOLCHAIN=local GOPROXY=off
if [ ! -f "$ws/cascade.yaml" ]; then
  echo "generating the workspace in $ws ..." >&2
  rm -rf "$ws"
  go run ./bench/genverify -n "$n" -pkgs "$pkgs" -dir "$ws"
fi
go build -o "$out/cascade" ./cmd/cascade
cascade="$out/cascade"
cache=$out/vcache-$pkgs
mkdir -p "$cache"

now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The shell loop: in a fresh temporary directory, or in DIR when given.
# It shares the warm GOCACHE.
loop() {
  local tmp=${1:-} cand=${2:-cand1}
  if [ -z "$tmp" ]; then tmp=$(mktemp -d); else rm -rf "$tmp"; mkdir -p "$tmp"; fi
  git -C "$ws/repos/up" archive --prefix=base/ v1.0.0 | tar -x -C "$tmp"
  git -C "$ws/repos/up" archive --prefix=cand/ "$cand" | tar -x -C "$tmp"
  for d in "$ws"/repos/d*/; do
    name=$(basename "$d")
    for side in base cand; do
      mkdir -p "$tmp/$name-$side"
      git -C "$d" archive HEAD | tar -x -C "$tmp/$name-$side"
      (cd "$tmp/$name-$side" \
        && go mod edit -replace "example.com/up=$tmp/$side" \
        && GOFLAGS=-mod=mod go test -count=1 ./... >/dev/null) || echo "loop: $name $side failed" >&2
    done
  done
  [ -n "${1:-}" ] || rm -rf "$tmp"
}

verify() { "$cascade" --workspace "$ws/cascade.yaml" --cache-dir "$cache" verify "$@" >/dev/null || true; }

echo "warming caches ..." >&2
loop
loop "$out/loop-fixed"
verify up@cand1 --no-cache
verify up@cand1 --no-cache --all-packages

declare -a t_loop t_fixed t_sel t_all t_fresh t_new
for r in $(seq "$runs"); do
  s=$(now); loop "$out/loop-fixed"; e=$(now); t_fixed+=("$(echo "$e - $s" | bc)")
  s=$(now); verify up@cand1 --no-cache --all-packages; e=$(now); t_all+=("$(echo "$e - $s" | bc)")
  s=$(now); loop; e=$(now); t_loop+=("$(echo "$e - $s" | bc)")
  s=$(now); verify up@cand1 --no-cache; e=$(now); t_sel+=("$(echo "$e - $s" | bc)")
  # A first run that fills the result cache, then a new candidate.
  rm -rf "$cache/verify"
  s=$(now); verify up@cand1; e=$(now); t_fresh+=("$(echo "$e - $s" | bc)")
  s=$(now); verify up@cand2; e=$(now); t_new+=("$(echo "$e - $s" | bc)")
  printf 'run %d: loop in fixed dirs %.2fs  verify --all-packages %.2fs  loop in a new dir %.2fs  verify %.2fs  first run %.2fs  new candidate %.2fs\n' \
    "$r" "${t_fixed[-1]}" "${t_all[-1]}" "${t_loop[-1]}" "${t_sel[-1]}" "${t_fresh[-1]}" "${t_new[-1]}"
done
mx=$(median "${t_fixed[@]}"); ml=$(median "${t_loop[@]}"); ma=$(median "${t_all[@]}"); ms=$(median "${t_sel[@]}")
mr=$(median "${t_fresh[@]}"); mn=$(median "${t_new[@]}")
printf '\n1 upstream, %d downstreams of %d packages, median of %d runs on %d cores:\n' "$n" "$pkgs" "$runs" "$(nproc)"
printf '  the same work:\n'
printf '    shell loop in fixed directories            %6.2fs\n' "$mx"
printf '    cascade verify --all-packages --no-cache   %6.2fs  %.2f x the loop\n' "$ma" "$(echo "$ma / $mx" | bc -l)"
printf '    (the loop in a new directory each time     %6.2fs)\n' "$ml"
printf '  impact selection (less work):\n'
printf '    cascade verify --no-cache                  %6.2fs  %.2f x faster than --all-packages (target >= 2)\n' "$ms" "$(echo "$ma / $ms" | bc -l)"
printf '  a new candidate after a warm run:\n'
printf '    first run (fills the result cache)         %6.2fs\n' "$mr"
printf '    new candidate (baselines cached)           %6.2fs  %.2f x the first run, %.2f x the fixed-directory loop\n' "$mn" "$(echo "$mn / $mr" | bc -l)" "$(echo "$mn / $mx" | bc -l)"
