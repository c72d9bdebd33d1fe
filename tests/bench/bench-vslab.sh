#!/usr/bin/env bash
# make bench: time for vslab to bring a 50-host, 10-switch lab up and
# down (examples/scale.lua: a chain of 10 switches joined by patch links,
# 50 namespaces on afpacket ports), with a private vswitchd.  Prints
# "bench: vslab_up_50h10s SECONDS s" and "bench: vslab_down_50h10s ...".
set -u
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "bench: vslab needs root"; exit 0; }
V=$build/utilities/vslab
lab=bench-vslab-$$
trap '"$V" --name=$lab down x.lua >/dev/null 2>&1' EXIT
export VSLAB_SWITCHES=10 VSLAB_HOSTS=50
t0=$(date +%s.%N)
"$V" --private --name=$lab up "$top/examples/scale.lua" >/dev/null || { echo "bench: vslab up failed"; exit 1; }
t1=$(date +%s.%N)
"$V" --name=$lab down "$top/examples/scale.lua" >/dev/null || { echo "bench: vslab down failed"; exit 1; }
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
    printf "bench: vslab_up_50h10s %.2f s\nbench: vslab_down_50h10s %.2f s\n", b - a, c - b }'
