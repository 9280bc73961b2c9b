#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (`func FuzzXxx` in a
# *_test.go file), one at a time, for FUZZTIME each, and stops at the first
# failure. Plain `go test` (so `make test`) already runs each target's seed
# corpus; this script does the actual fuzzing.
#
#   scripts/fuzz.sh                        every target, 30s each
#   FUZZTIME=2m scripts/fuzz.sh            every target, 2 minutes each
#   FUZZTIME=10000x scripts/fuzz.sh        every target, 10000 inputs each
#   scripts/fuzz.sh ./shared/admin         only the targets of these packages
#   FUZZ='^FuzzAdmin' scripts/fuzz.sh      only the targets matching a regexp
#   FUZZFLAGS='-parallel 1' scripts/fuzz.sh  extra flags for go test
#
# FUZZMINIMIZETIME (default 5s) bounds the minimization of each new input:
# go test's default (60s) spends most of a short run shrinking inputs that
# derive from the large seeds (64 KiB bodies), instead of fuzzing.
#
# A failing input is saved by `go test` under <package>/testdata/fuzz/<target>/
# and from then on replayed by plain `go test` until it is removed.
set -euo pipefail

FUZZTIME="${FUZZTIME:-30s}"
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-5s}"
FUZZ="${FUZZ:-.}"
read -r -a extra <<<"${FUZZFLAGS:-}"

die() { echo "fuzz.sh: $*" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
command -v go >/dev/null || die "go is not on PATH"

# The packages: those given, or every one with a fuzz target.
pkgs=()
if (($#)); then
	pkgs=("$@")
else
	while IFS= read -r dir; do
		pkgs+=("./$dir")
	done < <(grep -rl --include='*_test.go' \
		--exclude-dir=.git --exclude-dir=.cache --exclude-dir=node_modules --exclude-dir=cdk.out --exclude-dir=testdata \
		'^func Fuzz' . | sed -e 's|^\./||' -e 's|/[^/]*$||' | sort -u)
fi
((${#pkgs[@]})) || die "no fuzz targets found"

# The targets, as pairs of package and name, listed by go test itself.
targets=()
for pkg in "${pkgs[@]}"; do
	if ! list="$(go test -list '^Fuzz' "$pkg" 2>&1)"; then
		echo "$list" >&2
		die "could not list the fuzz targets of $pkg"
	fi
	while IFS= read -r name; do
		if [[ $name =~ ^Fuzz[A-Za-z0-9_]*$ && $name =~ $FUZZ ]]; then
			targets+=("$pkg $name")
		fi
	done <<<"$list"
done
((${#targets[@]})) || die "no fuzz target matches FUZZ=$FUZZ"

echo "fuzz.sh: ${#targets[@]} targets, $FUZZTIME each"
start=$SECONDS
i=0
for t in "${targets[@]}"; do
	i=$((i + 1))
	pkg="${t% *}"
	name="${t#* }"
	echo "==> [$i/${#targets[@]}] $name ($pkg)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "${extra[@]}" "$pkg"; then
		echo >&2
		echo "fuzz.sh: FAIL: $name in $pkg" >&2
		echo "fuzz.sh: go test shows the failing input above; a new one is saved under $pkg/testdata/fuzz/$name/" >&2
		echo "fuzz.sh: (plain go test replays it until it is removed);" >&2
		echo "fuzz.sh: replay it with: go test -run '^${name}\$' $pkg" >&2
		exit 1
	fi
done
echo "fuzz.sh: all ${#targets[@]} targets passed ($((SECONDS - start))s)"
