#!/usr/bin/env bash
# Turns this checkout into a production release, in place:
#   1. npm ci: installs every package the lockfile names, dev packages included, and builds
#      dist/ through the `prepare` script (TypeScript is a dev package). better-sqlite3 is
#      compiled from source when no prebuilt binary fits, which needs python3, make and g++.
#   2. npm prune --omit=dev: removes the dev packages (TypeScript, jest, swc, ...) again.
#   3. checks that what the service needs at run time is there and that no dev package is.
# What the release is: package.json, package-lock.json, dist/ (service, operator commands and
# migrations, compiled), node_modules/ (production packages only), views/, public/, config/.
#
# It removes the dev packages of the checkout it runs in: run it in a fresh clone, a CI
# workspace or a container's build stage, not in a working copy you develop in.
#
# Usage: scripts/release-build.sh [TARGET_DIR]
#   With TARGET_DIR, the release files are also copied there. It must be missing or empty, so
#   that no file of an earlier release lingers: build each release into a new directory, e.g.
#   /opt/wechat-oidc-provider-0.2.0, and point /opt/wechat-oidc-provider at it.
#   node_modules/ holds a compiled module: build on the same OS, CPU and Node.js major
#   version as the machine that runs the release.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target=${1:-}
if [ -n "$target" ] && [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
  echo "$target is not empty: give a new or empty directory for the release" >&2
  exit 1
fi

step() { printf '\n== %s\n' "$*"; }

step "release build in $root with Node.js $(node --version), npm $(npm --version)"

# --include=dev: the build needs the dev packages even where NODE_ENV=production is set
# (npm leaves them out then). The lockfile is followed exactly and never rewritten.
step "1/3 npm ci: install from package-lock.json and build dist/ (prepare)"
npm ci --include=dev --no-audit --no-fund
[ -f dist/src/main.js ] || { echo "dist/src/main.js is missing: the build (npm run prepare) did not run" >&2; exit 1; }

# --ignore-scripts: pruning only deletes packages; nothing needs to build or run again.
step "2/3 npm prune --omit=dev: remove the dev packages"
npm prune --omit=dev --ignore-scripts --no-audit --no-fund

step "3/3 check the release"
for dev in typescript jest @swc/core @swc/jest nock playwright-core; do
  if [ -e "node_modules/$dev" ]; then echo "dev package node_modules/$dev is still installed" >&2; exit 1; fi
done
for needed in package.json package-lock.json dist/src/main.js dist/src/migrate.js dist/src/keys-cli.js \
  dist/src/accounts-cli.js dist/migrations views public config/clients.example.json; do
  if [ ! -e "$needed" ]; then echo "$needed is missing from the release" >&2; exit 1; fi
done
# Every production package present, at the version the lockfile names.
npm ls --omit=dev --all >/dev/null
echo "no dev packages left; production packages complete"

release_files=(package.json package-lock.json dist node_modules views public config)
if [ -n "$target" ]; then
  step "copy the release to $target"
  mkdir -p "$target"
  cp -a "${release_files[@]}" "$target/"
  where=$(cd "$target" && pwd)
else
  where=$root
fi

printf '\nRelease ready in %s (%s).\n' "$where" "${release_files[*]}"
printf 'Run it there with: NODE_ENV=production node dist/src/main.js (settings from the environment)\n'
