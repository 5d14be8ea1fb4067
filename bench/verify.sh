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
# 1. cascade verify up@cand1 (result cache off, build cache warm) against a
#    plain sequential shell loop doing the same work: per downstream, copy,
#    go mod edit -replace, go build ./..., go test ./..., at the baseline and
#    with the candidate. Target: cascade <= 0.5 x the loop.
# 2. A new candidate (up@cand2) after a first run (up@cand1) whose baselines
#    are cached. Target: <= 0.6 x the first run.
# 3. Impact selection against --all-packages. Target: >= 2 x faster.
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

# The shell loop: what a release engineer scripts by hand, in a fresh
# temporary directory as such a script would. It shares the warm GOCACHE.
loop() {
  local tmp=${1:-}
  if [ -z "$tmp" ]; then tmp=$(mktemp -d); else rm -rf "$tmp"; mkdir -p "$tmp"; fi
  git -C "$ws/repos/up" archive --prefix=base/ v1.0.0 | tar -x -C "$tmp"
  git -C "$ws/repos/up" archive --prefix=cand/ cand1 | tar -x -C "$tmp"
  for d in "$ws"/repos/d*/; do
    name=$(basename "$d")
    for side in base cand; do
      mkdir -p "$tmp/$name-$side"
      git -C "$d" archive HEAD | tar -x -C "$tmp/$name-$side"
      (cd "$tmp/$name-$side" \
        && go mod edit -replace "example.com/up=$tmp/$side" \
        && GOFLAGS=-mod=mod go build ./... \
        && GOFLAGS=-mod=mod go test ./... >/dev/null) || echo "loop: $name $side failed" >&2
    done
  done
  rm -rf "$tmp"
}

verify() { "$cascade" --workspace "$ws/cascade.yaml" --cache-dir "$cache" verify "$@" >/dev/null || true; }

echo "warming caches ..." >&2
loop
loop "$out/loop-fixed"
verify up@cand1 --no-cache
verify up@cand1 --no-cache --all-packages

declare -a t_loop t_fixed t_first t_all t_fresh t_new
for r in $(seq "$runs"); do
  s=$(now); loop; e=$(now); t_loop+=("$(echo "$e - $s" | bc)")
  # The same loop in the same directories every run, so that go's caches
  # (which key on source paths) hit as they do for cascade's work slots.
  s=$(now); loop "$out/loop-fixed"; e=$(now); t_fixed+=("$(echo "$e - $s" | bc)")
  s=$(now); verify up@cand1 --no-cache; e=$(now); t_first+=("$(echo "$e - $s" | bc)")
  s=$(now); verify up@cand1 --no-cache --all-packages; e=$(now); t_all+=("$(echo "$e - $s" | bc)")
  # A first run that fills the result cache, then a new candidate.
  rm -rf "$cache/verify"
  s=$(now); verify up@cand1; e=$(now); t_fresh+=("$(echo "$e - $s" | bc)")
  s=$(now); verify up@cand2; e=$(now); t_new+=("$(echo "$e - $s" | bc)")
  printf 'run %d: loop %.2fs  loop in fixed dirs %.2fs  verify %.2fs  --all-packages %.2fs  first (cached results) %.2fs  new candidate %.2fs\n' \
    "$r" "${t_loop[-1]}" "${t_fixed[-1]}" "${t_first[-1]}" "${t_all[-1]}" "${t_fresh[-1]}" "${t_new[-1]}"
done
ml=$(median "${t_loop[@]}"); mx=$(median "${t_fixed[@]}"); mf=$(median "${t_first[@]}"); ma=$(median "${t_all[@]}")
mr=$(median "${t_fresh[@]}"); mn=$(median "${t_new[@]}")
printf '\n1 upstream, %d downstreams of %d packages, median of %d runs on %d cores:\n' "$n" "$pkgs" "$runs" "$(nproc)"
printf '  sequential shell loop                      %6.2fs\n' "$ml"
printf '  the same loop in fixed directories         %6.2fs\n' "$mx"
printf '  cascade verify (results not cached)        %6.2fs  %.2f x the loop, %.2f x the fixed-directory loop (target <= 0.5)\n' "$mf" "$(echo "$mf / $ml" | bc -l)" "$(echo "$mf / $mx" | bc -l)"
printf '  cascade verify --all-packages              %6.2fs  impact selection is %.2f x faster (target >= 2)\n' "$ma" "$(echo "$ma / $mf" | bc -l)"
printf '  first run, then a new candidate            %6.2fs -> %.2fs  %.2f x the first run (target <= 0.6)\n' "$mr" "$mn" "$(echo "$mn / $mr" | bc -l)"
