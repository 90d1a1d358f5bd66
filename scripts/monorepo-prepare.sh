#!/usr/bin/env bash
# Prepares a plain clone of segmentio/action-destinations for `npm run monorepo:check`: installs its dependencies and
# builds the packages its CLI and tests load. 15-40 minutes on 2 cores; run once per checkout.
#
#   bash scripts/monorepo-prepare.sh <checkout>
#
# Idempotent: a checkout that carries both the tag `setup-base` and the file .git/setup-done is prepared and left as
# it is; an interrupted preparation resumes (every edit below can be applied twice).
#
# Why it edits the checkout: a registry may lack tarballs the monorepo's yarn.lock pins (npm mirrors lag, packages get
# unpublished). So a 404 tarball gets its lock entry dropped, for yarn to resolve a version the registry has; an exact
# pin the registry lacks is lowered to its newest published version below; a dependency whose tarball stays missing is
# removed when its workspace's source never names it; nx's native binary, which yarn leaves out with the optional
# dependencies, is fetched with npm pack. These edits become one commit, "local environment", tagged `setup-base`, so
# every check starts from it and `git diff setup-base` shows only the check's own change.
set -euo pipefail

M=${1:?usage: monorepo-prepare.sh <checkout of segmentio/action-destinations>}
M=$(cd "$M" && pwd)
cd "$M"
if [ -f .git/setup-done ] && git rev-parse -q --verify refs/tags/setup-base >/dev/null; then
  echo "prepared: $M (tag setup-base)"
  exit 0
fi

export YARN_IGNORE_ENGINES=true HUSKY=0 CYPRESS_INSTALL_BINARY=0 PUPPETEER_SKIP_DOWNLOAD=1 \
  PUPPETEER_SKIP_CHROMIUM_DOWNLOAD=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
LOG="$M/.git/prepare.log"
echo "preparing $M (15-40 minutes; progress in $LOG)"
: >>"$LOG"

# yarn 1, as the monorepo's packageManager field names; npx fetches it when the machine has none.
if command -v yarn >/dev/null && [[ $(yarn --version) == 1.* ]]; then YARN=(yarn); else YARN=(npx --yes yarn@1); fi

# Drops the yarn.lock entry that resolves the tarball URL $1 (the URL without its #hash). Fails when none does.
drop_lock_entry() {
  node -e '
    const fs = require("fs")
    const url = process.argv[1]
    const entries = fs.readFileSync("yarn.lock", "utf8").split(/\n(?=\S)/)
    const kept = entries.filter((entry) => !entry.includes(`resolved "${url}`))
    if (kept.length === entries.length) process.exit(1)
    fs.writeFileSync("yarn.lock", kept.join("\n"))' "$1"
}

# Lowers the exact pin "$1": "$2" in every workspace package.json to the newest published version below it.
lower_pin() {
  local name=$1 pin=$2 versions lower
  versions=$(npm view "$name" versions --json 2>/dev/null) || return 1
  lower=$(node -e '
    const [pin, json] = process.argv.slice(1)
    const key = (v) => v.split(/[.+-]/).slice(0, 3).map(Number)
    const below = (a, b) => { for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i]; return false }
    const list = [].concat(JSON.parse(json)).filter((v) => /^\d+\.\d+\.\d+$/.test(v) && below(key(v), key(pin)))
    list.sort((a, b) => (below(key(a), key(b)) ? -1 : 1))
    if (!list.length) process.exit(1)
    console.log(list[list.length - 1])' "$pin" "$versions") || return 1
  local files
  files=$(grep -l "\"$name\": \"$pin\"" package.json packages/*/package.json) || return 1
  echo "pin $name@$pin is not in the registry: lowered to $lower in $files" | tee -a "$LOG"
  # shellcheck disable=SC2086
  sed -i "s#\"$name\": \"$pin\"#\"$name\": \"$lower\"#" $files
}

# Removes the dependency $1 from the workspaces that list it but whose source never names it.
remove_unused_dependency() {
  local name=$1 removed=0 pkg
  for pkg in packages/*/package.json; do
    grep -q "\"$name\":" "$pkg" || continue
    if grep -rqF "$name" "$(dirname "$pkg")/src" 2>/dev/null; then continue; fi
    echo "$name: tarball missing from the registry and unused by $(dirname "$pkg"): removed from $pkg" | tee -a "$LOG"
    sed -i "/\"${name//\//\\/}\":/d" "$pkg"
    removed=1
  done
  [ $removed = 1 ]
}

# 1. Dependencies. Each failure that is a registry gap is worked around, then yarn runs again.
seen404=' '
for attempt in $(seq 1 60); do
  out="$M/.git/prepare-yarn.out"
  if "${YARN[@]}" install --ignore-engines --ignore-optional --network-timeout 600000 >"$out" 2>&1; then
    cat "$out" >>"$LOG"
    break
  fi
  cat "$out" >>"$LOG"
  missing=$(grep -oE "Couldn't find any versions for \"[^\"]+\" that matches \"[0-9][^\"]*\"" "$out" | head -1 || true)
  # The 404 that stopped yarn ("error Error: <url>" or "An unexpected error occurred: <url>"); yarn also prints 404s of
  # optional packages for other platforms, which do not stop it.
  url=$(grep -E '^error (Error: |An unexpected error occurred: ")https?://.*404' "$out" | grep -oE 'https?://[^ "#]+\.tgz' |
    head -1 || true)
  [ -n "$url" ] || url=$(grep -E '404' "$out" | grep -oE 'https?://[^ "#]+\.tgz' | head -1 || true)
  if [ -n "$missing" ]; then
    name=$(sed -E 's/.*versions for "([^"]+)".*/\1/' <<<"$missing")
    pin=$(sed -E 's/.*matches "([^"]+)".*/\1/' <<<"$missing")
    lower_pin "$name" "$pin" || { tail -20 "$out"; echo "cannot lower the pin $name@$pin"; exit 1; }
  elif [ -n "$url" ] && [[ $seen404 != *" $url "* ]]; then
    seen404="$seen404$url "
    echo "404 $url: dropping its lock entry" | tee -a "$LOG"
    drop_lock_entry "$url" || { tail -20 "$out"; echo "no yarn.lock entry resolves $url"; exit 1; }
  elif [ -n "$url" ]; then
    # The same tarball again after re-resolution: that version is missing; the package's name is in the URL.
    name=$(sed -E 's#^https?://[^/]+/((@[^/]+/)?[^/]+)/-/.*#\1#' <<<"$url")
    remove_unused_dependency "$name" || { tail -20 "$out"; echo "$url stays missing and $name is in use"; exit 1; }
    drop_lock_entry "$url" || true
  else
    tail -20 "$out"
    echo "yarn install failed, and not for a missing package (whole output in $LOG)"
    exit 1
  fi
  [ "$attempt" = 60 ] && { echo "yarn install still failing after 60 attempts"; exit 1; }
done

# 2. nx's native binary for this machine (an optional dependency of nx, skipped above).
nx_version=$(node -p 'require("./node_modules/nx/package.json").version')
nx_native=$(node -p '`@nx/nx-${process.platform}-${process.arch}${process.platform === "linux" ? "-gnu" : ""}`')
if [ ! -d "node_modules/$nx_native" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$nx_native@$nx_version" >/dev/null)
  mkdir -p "node_modules/$nx_native"
  tar -xzf "$tmp"/*.tgz -C "node_modules/$nx_native" --strip-components=1
  rm -rf "$tmp"
fi

# 3. Build what the CLI, the tests and the typecheck load (validate loads the browser destinations through the
# manifest). The CLI runs from its TypeScript source, so it is not built.
echo "building (nx run-many -t build)" | tee -a "$LOG"
NODE_ENV=production npx nx run-many -t build --parallel=2 --exclude=@segment/actions-cli >>"$LOG" 2>&1 ||
  {
    tail -30 "$LOG"
    echo "build failed (log: $LOG)"
    exit 1
  }

# 4. Record the prepared state: one commit (even when nothing changed), the tag, and the marker.
git add -A
git -c user.name=monorepo-check -c user.email=monorepo-check@localhost -c core.hooksPath=/dev/null \
  commit -q --no-verify --allow-empty -m "local environment: registry gaps worked around (not part of any change)"
git tag -f setup-base >/dev/null
touch .git/setup-done
echo "prepared: $M (tag setup-base)"
