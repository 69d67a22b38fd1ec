#!/usr/bin/env bash
# The test command (`npm test`): format check, type-check, lint, import cycles, conformance, unit + integration tests (real SQLite, real
# Secret Service via gnome-keyring, real PostgreSQL, real processes), then the UI tests in real Chromium.
# Every stage runs even when an earlier one fails; the last line sums up all of them.
set -uo pipefail
cd "$(dirname "$0")/.."
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ -z "${ENVELOPE_TEST_PG_URL:-}" ] && command -v pg_ctlcluster >/dev/null; then
  ENVELOPE_TEST_PG_URL=$(bash test/pg.sh) && export ENVELOPE_TEST_PG_URL
fi
log=$(mktemp -d)
passed=0 failed=0 stages_failed=()

stage() { # name, command...
  local name=$1; shift
  echo; echo "=== $name"
  if "$@" 2>&1 | tee "$log/$name.out"; then :; else stages_failed+=("$name"); fi
}

# npm run check: format, lint (layer table, typed rules), type-checks (node, web, pure), import cycles
stage format npm run -s format:check
stage typecheck npm run -s typecheck
stage lint npm run -s lint
stage cycles npm run -s cycles
stage conformance npm run -s conformance
c=$(grep -Eo '^[0-9]+ passed, [0-9]+ failed' "$log/conformance.out" | tail -1)
if [ -n "$c" ]; then passed=$((passed + $(echo "$c" | cut -d' ' -f1))); failed=$((failed + $(echo "$c" | cut -d' ' -f3))); fi

mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/e2e/*' | sort)
stage node-tests test/with-keyring.sh node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
p=$(grep -Eo '^ℹ pass [0-9]+' "$log/node-tests.out" | tail -1 | grep -Eo '[0-9]+'); f=$(grep -Eo '^ℹ fail [0-9]+' "$log/node-tests.out" | tail -1 | grep -Eo '[0-9]+')
passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))

if [ -f playwright.config.ts ]; then
  stage build npm run -s build
  stage e2e test/with-keyring.sh npx playwright test
  p=$(grep -Eo '[0-9]+ passed' "$log/e2e.out" | tail -1 | grep -Eo '[0-9]+'); f=$(grep -Eo '[0-9]+ failed' "$log/e2e.out" | tail -1 | grep -Eo '[0-9]+')
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
fi

echo
if [ ${#stages_failed[@]} -gt 0 ]; then
  echo "failed stages: ${stages_failed[*]}"
  [ "$failed" -eq 0 ] && failed=${#stages_failed[@]}
fi
echo "total: $passed passed, $failed failed"
[ ${#stages_failed[@]} -eq 0 ]
