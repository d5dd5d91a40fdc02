#!/usr/bin/env bash
# Rebuild web/static/govuk/ from the npm package govuk-frontend.
#
# Documentation only: nothing at install or test time runs this script; its
# output is committed. Needs node, npm and access to the npm registry.
#
# Usage: web/static/build-govuk.sh
set -euo pipefail

GOVUK_FRONTEND_VERSION="6.3.0"   # must match govuk-frontend-jinja==4.1.0
SASS_VERSION="1.108.2"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$HERE/govuk"
WORK="$(mktemp -d /tmp/govuk-build.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --save-exact \
  "govuk-frontend@$GOVUK_FRONTEND_VERSION" "sass@$SASS_VERSION" >/dev/null
PKG="$WORK/node_modules/govuk-frontend"
DIST="$PKG/dist/govuk"

# Image URL handler: the only image the Sass references is govuk-crest.svg
# (the Royal Arms, drawn above the footer copyright link). This service is not
# on a service.gov.uk domain and must not use it, so that reference becomes
# `none` (and the pseudo-element is removed in main.scss below). Any other
# image would resolve to /static/govuk/images/<file>.
cat > _url-handlers.scss <<'SCSS'
@function image-url($filename) {
  @if $filename == "govuk-crest.svg" {
    @return none;
  }
  @return url("/static/govuk/images/" + $filename);
}
SCSS

cat > main.scss <<'SCSS'
@use "sass:meta";
@use "url-handlers";

// Not a service.gov.uk service: system font stack instead of the restricted
// GDS Transport font, and no @font-face at all.
@use "govuk-frontend/dist/govuk" with (
  $govuk-font-family: (arial, sans-serif),
  $govuk-include-default-font-face: false,
  $govuk-assets-path: "/static/govuk/",
  $govuk-images-path: "/static/govuk/images/",
  $govuk-fonts-path: "/static/govuk/fonts/",
  $govuk-image-url-function: meta.get-function("image-url", $module: "url-handlers")
);

// No Royal Arms crest above the footer copyright link.
.govuk-footer__copyright-logo::before {
  content: none;
}
SCSS

npx --no-install sass --no-source-map --style=compressed \
  --quiet-deps --load-path=node_modules \
  main.scss "$WORK/govuk-frontend.min.css"

# Refuse to ship anything that references the GDS Transport font or any file.
if grep -q 'GDS Transport\|@font-face' "$WORK/govuk-frontend.min.css"; then
  echo "error: compiled CSS still references GDS Transport / @font-face" >&2
  exit 1
fi
if grep -q 'url(' "$WORK/govuk-frontend.min.css"; then
  echo "error: compiled CSS references files; ship them or map them away:" >&2
  grep -o 'url([^)]*)' "$WORK/govuk-frontend.min.css" | sort -u >&2
  exit 1
fi

mkdir -p "$OUT"
cp "$WORK/govuk-frontend.min.css" "$OUT/govuk-frontend.min.css"
# ES module bundle (exports initAll, createAll, the component classes).
# The trailing sourceMappingURL comment is dropped: the map is not shipped.
sed '$ s|//# sourceMappingURL=govuk-frontend\.min\.js\.map$||' \
  "$DIST/govuk-frontend.min.js" > "$OUT/govuk-frontend.min.js"

# The npm tarball ships no licence file (package.json says "MIT"); this is
# LICENSE.txt of the alphagov/govuk-frontend repository, verbatim.
cat > "$OUT/LICENSE" <<'TXT'
The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
TXT

grep -q "\"version\": \"$GOVUK_FRONTEND_VERSION\"" "$PKG/package.json"
grep -q "^const version=\"$GOVUK_FRONTEND_VERSION\"" "$OUT/govuk-frontend.min.js"

echo "built into $OUT:"
ls -l "$OUT"
