#!/bin/sh
# refresh.sh fetches uPlot 1.6.32 from the npm registry, checks the
# package's sha256, and copies the two files the dashboard embeds here.
set -eu
version=1.6.32
sha256=4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
curl -fsSL -o uplot.tgz "https://registry.npmjs.org/uplot/-/uplot-$version.tgz"
echo "$sha256  uplot.tgz" | sha256sum -c -
tar xzf uplot.tgz
cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css "$here/"
echo "uPlot $version: $here/uPlot.iife.min.js, $here/uPlot.min.css"
