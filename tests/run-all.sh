#!/usr/bin/env bash
# `npm test`: type check, unit + integration tests, build, then browser end-to-end tests.
# Brings up what it needs (Debian's chromium) and prints one closing line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
	if [ "$(id -u)" = 0 ]; then
		echo "Installing Debian's chromium for the browser tests…"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || {
			echo "Could not install the Debian package chromium (apt-get install chromium)."; exit 1; }
	else
		echo "Missing Debian package: chromium (run: sudo apt-get install chromium)"; exit 1
	fi
fi

reports=.test-tmp/reports
rm -rf "$reports" && mkdir -p "$reports"
status=0

step() { echo; echo "== $1"; }

step "type check"
npx svelte-kit sync && npx svelte-check --tsconfig ./tsconfig.json --threshold error --output machine-verbose > "$reports/check.txt" 2>&1
check=$?
tail -n 3 "$reports/check.txt"
[ $check -eq 0 ] || { grep -E '"type":"ERROR"|ERROR' "$reports/check.txt" | head -40; status=1; }

step "unit and integration tests"
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$reports/unit.json" || status=1

step "build"
npx vite build > "$reports/build.txt" 2>&1 || { tail -n 40 "$reports/build.txt"; status=1; }

step "browser end-to-end tests"
if [ -f build/index.html ]; then
	npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$reports/e2e.json" || status=1
else
	echo "skipped: the build failed"; status=1
fi

node tests/summary.mjs "$reports" $check || status=1
exit $status
