#!/usr/bin/env bash
# Build the book and check it in a real browser.
#
# 1. `mdbook build docs` into docs/book/; any WARN or ERROR line it prints fails the
#    check (mdbook has no flag that turns warnings into failures).
# 2. `browser-check` (crates/browser-check) serves docs/book/ on 127.0.0.1 and opens
#    every page in headless Chromium (/usr/bin/chromium, Debian's `chromium`). It
#    fails on an image that did not load, a link to a page or anchor of the book
#    that does not exist, a JavaScript exception or console error, or a report page
#    (body with data-task-count) whose task bars do not each show their tooltip.
#    One screenshot per page goes to docs/book/screenshots/ (ignored by git, and
#    emptied by the next build).
#
# Needs mdbook (.ci/run installs the pinned version) and chromium
# (apt-get install -y chromium). Takes about half a minute once browser-check is built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  cat <<'USAGE'
Usage: scripts/check-book.sh

Builds the book (mdbook build docs, warnings fail) and opens every page of
docs/book/ in headless Chromium: fails on a missing image, a broken internal link,
a JavaScript or console error, or a report page whose task bars lack a tooltip.
Screenshots: docs/book/screenshots/ (one per page, one with a tooltip shown).

Options:
  -h, --help  print this help and exit
USAGE
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") ;;
  *) echo "Error: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

if ! command -v mdbook >/dev/null 2>&1; then
  echo "Error: mdbook is not installed (bash .ci/run installs the pinned version, or: cargo install mdbook --locked)" >&2
  exit 1
fi

echo "== $(mdbook --version): mdbook build docs"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# mdbook logs to stderr; keep a copy to look for warnings in, and show it as it was.
status=0
mdbook build docs 2>"$log" || status=$?
cat "$log" >&2
if [[ $status -ne 0 ]]; then
  echo "Error: mdbook build docs failed (exit status $status)" >&2
  exit 1
fi
if grep -qE '\b(WARN|ERROR)\b' "$log"; then
  echo "Error: mdbook build docs printed warnings or errors (above); the book must build clean" >&2
  exit 1
fi

echo "== browser-check docs/book"
cargo run --quiet -p browser-check -- docs/book --shots docs/book/screenshots
