#!/usr/bin/env bash
# Vendor htmx for the agent console: fetch the pinned release from the npm registry
# (`npm pack`) and copy its minified build into the console's static folder. The file is
# committed, so the console never fetches anything at run time. Run again after changing
# HTMX_VERSION, check the diff, commit.
set -euo pipefail

HTMX_VERSION="${HTMX_VERSION:-2.0.11}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$ROOT/services/ticket-core/src/ticket_core/console/static/htmx.min.js"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent "htmx.org@${HTMX_VERSION}" >/dev/null)
tar -xzf "$WORK"/htmx.org-"${HTMX_VERSION}".tgz -C "$WORK"
cp "$WORK/package/dist/htmx.min.js" "$DEST"
echo "vendor-htmx: htmx ${HTMX_VERSION} -> ${DEST#"$ROOT"/}"
sha256sum "$DEST"
