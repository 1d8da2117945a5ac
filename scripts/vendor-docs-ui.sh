#!/usr/bin/env bash
# Re-fetches the API explorer served at /docs (Swagger UI, from the npm package
# swagger-ui-dist at a pinned version) into src/web/assets/vendor/, where the binary embeds it
# (src/web/page.rs). The committed files are what is served; run this only to change version,
# then update SWAGGER_UI_VERSION in src/web/page.rs and check /docs in the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${SWAGGER_UI_VERSION:-5.35.0}"
DEST=src/web/assets/vendor/swagger-ui

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "==> npm pack swagger-ui-dist@$VERSION"
(cd "$work" && npm pack --silent "swagger-ui-dist@$VERSION" >/dev/null)
tar -xzf "$work/swagger-ui-dist-$VERSION.tgz" -C "$work"

mkdir -p "$DEST"
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE swagger-ui-bundle.js.LICENSE.txt; do
  cp "$work/package/$f" "$DEST/$f"
done
# The bundle ends with a source-map comment for a file that is not served.
sed -i '/^\/\/# sourceMappingURL=/d' "$DEST/swagger-ui-bundle.js"
sed -i 's|/\*# sourceMappingURL=.*\*/||' "$DEST/swagger-ui.css"
integrity="$(cd "$work" && npm view "swagger-ui-dist@$VERSION" dist.integrity)"
cat >"$DEST/README.md" <<README
# Swagger UI $VERSION

The API explorer at \`/docs\`: \`swagger-ui-bundle.js\` and \`swagger-ui.css\` of the npm package
\`swagger-ui-dist\` version $VERSION
(integrity \`$integrity\`), unchanged but for the dropped source-map comments, with its
\`LICENSE\` (Apache-2.0), \`NOTICE\` and the bundle's third-party licences. Fetched by
\`scripts/vendor-docs-ui.sh\`; served from the binary by \`src/web/page.rs\`.
README
ls -l "$DEST"
