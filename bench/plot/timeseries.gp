# SPDX-License-Identifier: MIT
# Latency over time from raftbench --timeseries (second,ops_per_s,
# latency_us_p50,latency_us_p99,latency_us_max,errors): latency on the left
# axis (log), throughput on the right.
load dir."/common.gp"
set title "Latency and throughput over time: ".titles
set xlabel "time (s)"
set ylabel "latency (us, log scale)"
set logscale y
set y2label "throughput (ops/s)"
set y2tics
set ytics nomirror
plot files using 1:3 skip 1 with lines lw 2 title "p50", \
     files using 1:4 skip 1 with lines lw 2 title "p99", \
     files using 1:5 skip 1 with lines lw 1 dt 3 title "max", \
     files using 1:2 skip 1 axes x1y2 with lines lw 1 lc rgb "gray50" title "ops/s"
