# SPDX-License-Identifier: MIT
# Per-stage breakdown of traced requests, clustered bars of p50 and p99
# (stage,p50_us,p99_us; scripts/plot.sh extracts it from the run's JSON).
load dir."/common.gp"
set title "Where a commit's time goes: ".titles
set ylabel "time (us)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30 noenhanced
set key top right
plot files using 2:xtic(1) skip 1 title "p50", "" using 3 skip 1 title "p99"
