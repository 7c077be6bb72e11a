#!/bin/sh
# overlay.sh ROOT SUBDIR STAGE... : print the files of the overlay for SUBDIR
# (src, tests, bench, include), one per line, as paths relative to ROOT.
# For every relative path under <stage>/SUBDIR in the given stages, the file
# from the LAST stage holding it wins (DESIGN.md 2.1).
root=$1; sub=$2; shift 2
for s in "$@"; do
  [ -d "$root/$s/$sub" ] || continue
  (cd "$root/$s" && find "$sub" -type f ! -name '*~' ! -name '.*') | sed "s|^|$s |"
done | awk '{ win[$2] = $1 "/" $2 } END { for (k in win) print win[k] }' | sort
