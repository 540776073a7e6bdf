#!/bin/sh
# genman.sh IOCELL TEMPLATE OUTPUT: fill the manual's property section from the table.
set -eu
bin=$1; in=$2; out=$3
props=$(mktemp)
trap 'rm -f "$props"' EXIT
"$bin" _manprops > "$props"
awk -v f="$props" '$0 == "@PROPERTIES@" { while ((getline l < f) > 0) print l; next } { print }' "$in" > "$out"
