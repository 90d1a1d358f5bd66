#!/usr/bin/env bash
# Checks this repository's destination inside Segment's action-destinations monorepo, as its CI and PR checks would,
# and leaves the change there as a commit ready to become the pull request.
#
#   npm run monorepo:check -- <checkout of segmentio/action-destinations> [--pr-out FILE]
#
# The checkout is prepared first when it is not yet (scripts/monorepo-prepare.sh; 15-40 minutes, once), then reset to
# its prepared base (tag setup-base) so every run starts clean. src/destinations/koala-cloud/ goes in as
# packages/destination-actions/src/destinations/koala/: the published destination's folder, the path its id is
# registered to, so the pull request reads as an edit of Koala (Cloud), not a new destination. The steps are the
# monorepo's CI steps and its two PR checks, then the published destination's own tests run against our folder, then
# the pull request's description (template docs/pr-description.md) is written. Exit 0 only when all 11 steps pass;
# 1 when one fails; 2 for wrong use.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
P=$(dirname "$HERE")
SRC="$P/src/destinations/koala-cloud"
DEST=packages/destination-actions/src/destinations
ID=6489c893dd5357493f365a96 # Koala (Cloud)'s registration id in the monorepo
SLUG=actions-koala-cloud
BRANCH=koala-cloud
EXPECTED="$HERE/published-tests-expected.json"
TEMPLATE="$P/docs/pr-description.md"

usage() {
  echo "usage: npm run monorepo:check -- <checkout of segmentio/action-destinations> [--pr-out FILE]"
  echo "  Prepares the checkout if needed, puts src/destinations/koala-cloud/ in as $DEST/koala/,"
  echo "  runs the monorepo's checks and writes the pull request's description (default <checkout>/.git/KOALA_PR.md)."
}
die() { # message: wrong use, exit 2
  echo "monorepo:check: $1" >&2
  exit 2
}
# npm runs scripts from the package root; a relative path means the directory the user typed it in.
abs() { case $1 in /*) echo "$1" ;; *) echo "${INIT_CWD:-$PWD}/$1" ;; esac }

M='' PR_OUT=''
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help) usage && exit 0 ;;
    --pr-out) [ $# -ge 2 ] || die "--pr-out needs a file"; PR_OUT=$(abs "$2"); shift 2 ;;
    --pr-out=*) PR_OUT=$(abs "${1#--pr-out=}"); shift ;;
    -*) usage >&2; die "unknown option: $1" ;;
    *) [ -z "$M" ] || die "one checkout only (got '$M' and '$1')"; M=$1; shift ;;
  esac
done
[ -n "$M" ] || { usage >&2; die "no checkout given"; }
M=$(abs "$M")
[ -d "$M" ] || die "no such directory: $M (clone segmentio/action-destinations there first)"
M=$(cd "$M" && pwd)
[ -d "$M/.git" ] && [ -f "$M/$DEST/index.ts" ] && [ -x "$M/bin/run" ] ||
  die "$M is not a git checkout of segmentio/action-destinations (no .git, $DEST/index.ts or bin/run)"
[ -f "$SRC/index.ts" ] || die "no destination at $SRC"
[ -f "$TEMPLATE" ] && [ -f "$EXPECTED" ] || die "missing $TEMPLATE or $EXPECTED"
PR_OUT=${PR_OUT:-$M/.git/KOALA_PR.md}

bash "$HERE/monorepo-prepare.sh" "$M" || { echo "monorepo:check: preparing $M failed" >&2; exit 1; }

export YARN_IGNORE_ENGINES=true TZ=UTC HUSKY=0
cd "$M" || exit 2
commit() { git -c user.name=monorepo-check -c user.email=monorepo-check@localhost -c core.hooksPath=/dev/null commit -q --no-verify "$@"; }

# Start from the prepared base, whatever an earlier run left.
git checkout -q -f -B "$BRANCH" setup-base && git clean -qfd -- packages || die "cannot reset $M to setup-base"
L="$M/.git/koala-check"
rm -rf "$L" && mkdir -p "$L"

# In as koala/, replacing the published folder; the registration stays as it is.
K="$DEST/koala"
git cat-file -e "setup-base:$K/index.ts" 2>/dev/null || die "the base has no $K (not the monorepo this check knows)"
grep -q "register('$ID', './koala')" "$DEST/index.ts" || die "$ID is not registered to './koala' in $DEST/index.ts"
rm -rf "$K" && cp -R "$SRC" "$K"
# The last commit that changed the folder: it names the folder's state, whatever else the branch holds.
source_commit=$(git -C "$P" log -1 --format=%h -- src/destinations/koala-cloud 2>/dev/null)
source_commit=${source_commit:-unknown}
[ -z "$(git -C "$P" status --porcelain -- src/destinations/koala-cloud 2>/dev/null)" ] || source_commit="$source_commit+uncommitted"
git add -A -- "$K"
commit -m "Koala (Cloud): replace the destination with its rewrite" \
  -m "Copied from src/destinations/koala-cloud/ of koala-cloud-destination at $source_commit." ||
  die "nothing to commit: the folder is identical to the published one?"
base=setup-base
[[ $(git log -1 --format=%s setup-base) == "local environment"* ]] && base=setup-base^
printf 'monorepo_commit\t%s\nsource_commit\t%s\ndate\t%s\n' "$(git rev-parse --short=10 "$base")" "$source_commit" \
  "$(date -u +%Y-%m-%d)" >"$L/info.tsv"

failed=0
step() { # name, label for the PR, command...: one pass/FAIL line, then <name>.report or the log's tail on failure
  local name=$1 label=$2 start=$SECONDS result=pass
  shift 2
  "$@" >"$L/$name.log" 2>&1 || result=FAIL
  printf '%s\t%s\t%s\n' "$name" "$result" "$label" >>"$L/results.tsv"
  printf '%-4s  %-16s (%ss)\n' "$result" "$name" $((SECONDS - start))
  [ $result = pass ] || failed=1
  if [ -f "$L/$name.report" ]; then # a step's own summary, shown whatever the result
    sed 's/^/      /' "$L/$name.report"
  elif [ $result = FAIL ]; then
    tail -15 "$L/$name.log" | sed 's/^/      /'
  fi
}
# A generator must leave the folder as committed. What it changed is kept in <step>.diff, then undone, so the later
# steps check our folder.
unchanged() {
  local name=$1
  if [ -z "$(git status --porcelain -- "$K")" ]; then return 0; fi
  echo "changed the folder:" && git status --short -- "$K"
  git add -A -N -- "$K" && git diff -- "$K" >"$L/$name.diff"
  echo "diff: $L/$name.diff"
  git reset -q -- "$K" && git checkout -q -- "$K" && git clean -qfd -- "$K"
  return 1
}
types() { ./bin/run generate:types --path "$K/index.ts" && unchanged generate-types; }
metadata() { ./bin/run generate:metadata-payload --slug "$SLUG" && unchanged metadata; }
jest_folder() { # the failed tests, if any, go to jest.report: jest's own summary ends its log with the passed suites
  local rc
  (cd packages/destination-actions && npx jest "src/destinations/koala/" --ci --json --outputFile="$L/jest.json")
  rc=$?
  [ ! -f "$L/jest.json" ] || node "$HERE/monorepo-report.js" jest-failures "$L/jest.json" >"$L/jest.report"
  return $rc
}
typecheck() { (cd packages/destination-actions && npx tsc -p tsconfig.build.json --noEmit); }

# .github/workflows/required-field-check.yml: list-required-fields over the files the PR changes (but metadata.json),
# on the branch and on the base; an action the base has must not gain a required field.
required_fields() {
  local args=() f rc
  for f in $(git diff --name-only setup-base HEAD | grep -v 'metadata\.json$'); do args+=(-p "$f"); done
  ./bin/run list-required-fields "${args[@]}" >"$L/required-ours.out" || return 1
  rm -rf "$K" && git archive setup-base -- "$K" | tar -x
  ./bin/run list-required-fields "${args[@]}" >"$L/required-published.out"
  rc=$?
  rm -rf "$K" && git checkout -q HEAD -- "$K"
  [ $rc = 0 ] && [ -z "$(git status --porcelain -- "$K")" ] || return 1
  node "$HERE/monorepo-report.js" required-fields "$L/required-published.out" "$L/required-ours.out"
}
# .github/workflows/required-secret-check.yml: validate-secret-fields; no setting named like a secret but a password.
secret_fields() {
  ./bin/run validate-secret-fields -p "$K/index.ts" >"$L/secrets.out" &&
    node "$HERE/monorepo-report.js" secret-fields "$L/secrets.out"
}
# The published destination's own tests, each beside ours as published-<name>, so its relative imports resolve to
# our code; removed afterwards. Passes when exactly the failures listed in scripts/published-tests-expected.json fail.
published_tests() {
  local f copy copies=()
  for f in $(git ls-tree -r --name-only setup-base -- "$K" | grep '/__tests__/[^/]*\.test\.ts$'); do
    copy="$(dirname "$f")/published-$(basename "$f")"
    [ ! -e "$copy" ] || { echo "$copy exists in our folder: rename it"; return 1; }
    mkdir -p "$(dirname "$copy")" && git show "setup-base:$f" >"$copy" && copies+=("${copy#packages/destination-actions/}")
    echo "$f -> $copy"
  done
  [ ${#copies[@]} -gt 0 ] || { echo "the published destination has no tests at setup-base"; return 1; }
  (cd packages/destination-actions && npx jest "${copies[@]}" --ci --json --outputFile="$L/published-tests.json")
  git clean -qfd -- "$K"
  node "$HERE/monorepo-report.js" published-tests "$L/published-tests.json" "$EXPECTED" \
    "$L/published-tests.summary.json" | tee "$L/published-tests.report"
}
pr_description() {
  mkdir -p "$(dirname "$PR_OUT")" && node "$HERE/monorepo-report.js" pr "$TEMPLATE" "$L" "$PR_OUT"
}

echo "checking the folder at $source_commit in $M (base $(git rev-parse --short=10 "$base"), branch $BRANCH)"
step generate-types '`./bin/run generate:types` (no change)' types
step validate '`./bin/run validate`' ./bin/run validate
step metadata "\`./bin/run generate:metadata-payload --slug $SLUG\` (no change)" metadata
step jest '`npx jest src/destinations/koala/ --ci`' jest_folder
step typecheck '`tsc -p tsconfig.build.json --noEmit`' typecheck
step eslint '`eslint` on the folder' npx eslint "$K" --ext .ts
step prettier '`prettier --check` on the folder' npx prettier --check "$K"
step required-fields '`./bin/run list-required-fields`: no new required field' required_fields
step secret-fields '`./bin/run validate-secret-fields`: secrets are passwords' secret_fields
step published-tests "the published destination's tests, against this folder" published_tests
git clean -qfd -- "$K" # in case a step was interrupted with the copies in place
step pr-description 'the description written' pr_description

if [ -f "$L/jest.json" ]; then
  node -e 'const j = require(process.argv[1]); console.log(`      jest: ${j.numPassedTests}/${j.numTotalTests} tests, ` +
    `${j.numPassedTestSuites}/${j.numTotalTestSuites} suites, ${j.snapshot.matched}/${j.snapshot.total} snapshots`)' "$L/jest.json"
fi
echo "pull request description: $PR_OUT"
echo "the change: commit $(git rev-parse --short HEAD) on branch $BRANCH in $M (parent: the prepared base;"
echo "  for the pull request, cherry-pick it onto the monorepo's main). Logs: $L"
exit $failed
