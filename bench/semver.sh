#!/usr/bin/env bash
# Benchmark: `cascade semver` on a module of N (default 50) packages, side by
# side with gorelease on the same two versions (v1.0.0 and the head commit).
#
#   bash bench/semver.sh [N] [RUNS]
#
# gorelease is installed from the Go module proxy into bench/out/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50}
runs=${2:-5}
out=$PWD/bench/out
ws=$out/sws-$n
export GOTOOLCHAIN=local
if [ ! -f "$ws/cascade.yaml" ]; then
  echo "generating the module in $ws ..." >&2
  rm -rf "$ws"
  go run ./bench/gensemver -n "$n" -dir "$ws"
fi
if [ ! -x "$out/bin/gorelease" ]; then
  xexp=$(go list -m -f '{{.Version}}' golang.org/x/exp)
  GOBIN=$out/bin GOFLAGS= go install "golang.org/x/exp/cmd/gorelease@$xexp"
fi
go build -o "$out/cascade" ./cmd/cascade
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

gorelease() {
  (cd "$ws/repos/big" && GOPROXY="file://$ws/proxy" GONOSUMDB=example.com GOFLAGS=-mod=mod "$out/bin/gorelease" -base=v1.0.0 >/dev/null 2>&1) || true
}
cascade() {
  GOPROXY=off "$out/cascade" --workspace "$ws/cascade.yaml" --cache-dir "$out/scache" semver big >/dev/null || true
}
echo "warming caches ..." >&2
gorelease; cascade
declare -a tg tc
for r in $(seq "$runs"); do
  s=$(now); gorelease; e=$(now); tg+=("$(echo "$e - $s" | bc)")
  s=$(now); cascade; e=$(now); tc+=("$(echo "$e - $s" | bc)")
  printf 'run %d: gorelease %.3fs  cascade semver %.3fs\n' "$r" "${tg[-1]}" "${tc[-1]}"
done
mg=$(median "${tg[@]}"); mc=$(median "${tc[@]}")
printf '\n%d packages, median of %d runs on %d cores:\n' "$n" "$runs" "$(nproc)"
printf '  gorelease -base=v1.0.0     %.3fs\n' "$mg"
printf '  cascade semver             %.3fs  (%.2f x gorelease; target <= 1.2)\n' "$mc" "$(echo "$mc / $mg" | bc -l)"
