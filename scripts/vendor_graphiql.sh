#!/usr/bin/env bash
# Reproduce keyart/web/graphiql/: GraphiQL's browser builds copied from the npm packages at
# the pinned versions below, with their licences, so that /graphql works without internet.
# Needs npm (only to download the package tarballs; nothing is built or installed).
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHIQL=3.8.3
EXPLORER=1.0.2
REACT=18.2.0

dest=keyart/web/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent --json \
    "graphiql@$GRAPHIQL" "@graphiql/plugin-explorer@$EXPLORER" \
    "react@$REACT" "react-dom@$REACT" > packed.json)
for tarball in "$work"/*.tgz; do
    name=$(basename "$tarball" .tgz)
    mkdir -p "$work/$name"
    tar -xzf "$tarball" -C "$work/$name"
done

g=$work/graphiql-$GRAPHIQL/package
e=$work/graphiql-plugin-explorer-$EXPLORER/package
r=$work/react-$REACT/package
d=$work/react-dom-$REACT/package

new=$work/out
mkdir -p "$new"
cp "$r/umd/react.production.min.js" "$new/react.production.min.js"
cp "$d/umd/react-dom.production.min.js" "$new/react-dom.production.min.js"
cp "$g/graphiql.min.js" "$new/graphiql.min.js"
cp "$g/graphiql.min.css" "$new/graphiql.min.css"
cp "$e/dist/index.umd.js" "$new/plugin-explorer.umd.js"
cp "$e/dist/style.css" "$new/plugin-explorer.css"
cp "$r/LICENSE" "$new/LICENSE.react"
cp "$d/LICENSE" "$new/LICENSE.react-dom"
cp "$g/LICENSE" "$new/LICENSE.graphiql"
# the plugin's tarball has no LICENSE file: it is MIT (its package.json) from the same
# graphql/graphiql repository, and bundles OneGraph's graphiql-explorer (MIT)
{
    echo "@graphiql/plugin-explorer $EXPLORER: \"license\": \"MIT\" in its package.json; it is"
    echo "published from https://github.com/graphql/graphiql under this licence:"
    echo
    cat "$g/LICENSE"
    echo
    echo "It bundles graphiql-explorer (https://github.com/OneGraph/graphiql-explorer), MIT License,"
    echo "Copyright (c) 2019 OneGraph, under the same permission notice as above."
} > "$new/LICENSE.plugin-explorer"

integrity() {
    python3 -c 'import json,sys; print({p["name"]: p["integrity"] for p in json.load(open(sys.argv[1]))}[sys.argv[2]])' \
        "$work/packed.json" "$1"
}
cat > "$new/README.md" <<README
# Vendored GraphiQL

The browser builds GraphiQL needs, copied unchanged from the npm packages below so that
keyart's \`/graphql\` page loads nothing from the internet. Reproduce with
\`scripts/vendor_graphiql.sh\` (or \`make vendor-graphiql\`); change the pinned versions there.

| file | npm package | version | tarball integrity |
|---|---|---|---|
| react.production.min.js (umd/) | react | $REACT | $(integrity react) |
| react-dom.production.min.js (umd/) | react-dom | $REACT | $(integrity react-dom) |
| graphiql.min.js, graphiql.min.css | graphiql | $GRAPHIQL | $(integrity graphiql) |
| plugin-explorer.umd.js, plugin-explorer.css (dist/index.umd.js, dist/style.css) | @graphiql/plugin-explorer | $EXPLORER | $(integrity @graphiql/plugin-explorer) |

Licences: LICENSE.react, LICENSE.react-dom, LICENSE.graphiql, LICENSE.plugin-explorer (all MIT).
The page that loads them is \`keyart/web/graphiql.html\`.
README

rm -rf "$dest.new"
cp -r "$new" "$dest.new"
rm -rf "$dest"
mv "$dest.new" "$dest"
echo "vendored GraphiQL $GRAPHIQL, plugin-explorer $EXPLORER, React $REACT into $dest"
