# SPDX-License-Identifier: MIT
# Throughput-latency curve from raftbench sweep --csv (step,offered_per_s,
# ops_per_s,latency_us_p50,latency_us_p99,latency_us_p999,errors,timeouts).
load dir."/common.gp"
set title "Throughput vs latency (open-loop sweep)"
set xlabel "achieved throughput (ops/s)"
set ylabel "latency (us, log scale)"
set logscale y
plot for [i=1:words(files)] word(files, i) using 3:4 skip 1 with linespoints lw 2 pt 7 title word(titles, i)." p50", \
     for [i=1:words(files)] word(files, i) using 3:5 skip 1 with linespoints lw 2 pt 5 dt 2 title word(titles, i)." p99"
