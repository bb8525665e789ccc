# SPDX-License-Identifier: MIT
# Shared by the raftbench plots: the terminal from `fmt` (png or svg), the
# output file `out`, CSV input. Called by scripts/plot.sh.
if (fmt eq "svg") { set terminal svg size 900,560 dynamic enhanced font "sans,12" } \
else { set terminal pngcairo size 900,560 enhanced font "sans,11" }
set output out
set datafile separator ","
set key top left
set grid
