#!/usr/bin/env bash
# Runs every fuzz target of the module for a short fixed time (FUZZTIME,
# default 5s each) and prints each one's executions. A target that finds a
# failing input stops the script; Go has then written the input under the
# package's testdata/fuzz/<target>/, where `go test` replays it from then on
# (commit it with the fix).
#
#   bash .ci/fuzz.sh              # every target, 5 s each
#   FUZZTIME=60s bash .ci/fuzz.sh # longer
#   FUZZMINIMIZE=10s bash .ci/fuzz.sh # minimize new inputs longer (default 50x)
#   bash .ci/fuzz.sh ./mpsync/pack  # the targets of one package
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-5s}
# Go minimizes each new interesting input for up to 60 s by default, and
# counts none of it: a 5 s run spent finding inputs reported a few dozen
# executions. 50 executions per input keeps the time for fuzzing (a failing
# input is still written, less minimized).
minimize=${FUZZMINIMIZE:-50x}
# The packages and their directories; an assignment, so that a failing
# go list stops the script (set -e does not see a process substitution).
listing=$(go list -f '{{.ImportPath}} {{.Dir}}' "${@:-./...}")
total=0
targets=0
summary=""
while read -r pkg dir; do
  # The targets, from the source: `go test -list` would run each package's
  # TestMain (starting PostgreSQL, building the command) just to list them.
  fuzzers=$(cat "$dir"/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p' || true)
  for fz in $fuzzers; do
    log=$(mktemp)
    if ! go test "$pkg" -run '^$' -fuzz "^${fz}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" >"$log" 2>&1; then
      cat "$log" >&2
      echo "fuzz: $pkg $fz failed; the failing input is under its testdata/fuzz/$fz/" >&2
      rm -f "$log"
      exit 1
    fi
    # The last progress line carries the total: "fuzz: elapsed: 5s, execs: 123 (…/sec), …"
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
    rm -f "$log"
    total=$((total + execs))
    targets=$((targets + 1))
    summary+=$(printf '%-40s %-28s %12s' "${pkg#mpsync.dev/}" "$fz" "$execs")$'\n'
  done
done <<<"$listing"
if [ "$targets" -eq 0 ]; then
  echo "fuzz: no fuzz targets found in ${*:-./...}" >&2
  exit 1
fi
printf '%-40s %-28s %12s\n' package target executions
printf '%s' "$summary"
echo "fuzz: $targets targets, $total executions, ${fuzztime} each, no failing input"
