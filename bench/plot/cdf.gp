# SPDX-License-Identifier: MIT
# Latency CDF from raftbench --cdf (latency_us,fraction); `files` is a
# space-separated list, `titles` their legend names. Log-scale x.
load dir."/common.gp"
set title "Commit latency CDF"
set xlabel "latency (us, log scale)"
set ylabel "fraction of requests at or below"
set logscale x
set yrange [0:1]
set key bottom right
plot for [i=1:words(files)] word(files, i) using 1:2 skip 1 with lines lw 2 title word(titles, i)
