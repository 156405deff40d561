#!/usr/bin/env bash
# Installs node_modules when missing or older than package-lock.json. Sourced by the two README commands.
set -euo pipefail
command -v node >/dev/null 2>&1 || { echo "node not found: install Node.js 20 or newer" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "npm not found: install npm (comes with Node.js)" >&2; exit 1; }
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 20 ] || { echo "Node.js 20 or newer is needed (found $(node --version))" >&2; exit 1; }
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund
fi
