#!/bin/sh
# The analyzer image's ENTRYPOINT (see the Dockerfile): size the Spark driver to the container, then
# become `model-monitor analyze` (exec: its exit code and signals are the container's).
#
# Spark runs in local mode inside the driver JVM, so the driver heap is all of Spark's memory. Unless
# MODEL_MONITOR_DRIVER_MEMORY is set (e.g. "12g"), it is MODEL_MONITOR_DRIVER_MEMORY_PERCENT (default 70)
# percent of the container's memory: the cgroup limit (v2 memory.max, v1 memory/memory.limit_in_bytes)
# or the machine's MemTotal, whichever is smaller. The rest is left to the JVM's off-heap memory, the
# Python driver and the Python workers. spark.driver.memory in PYSPARK_SUBMIT_ARGS or
# spark-defaults.conf still wins (monitor_lib/spark.py). MODEL_MONITOR_CGROUP_ROOT and
# MODEL_MONITOR_MEMINFO relocate /sys/fs/cgroup and /proc/meminfo (for the tests).
set -eu

if [ -z "${MODEL_MONITOR_DRIVER_MEMORY:-}" ]; then
    cgroup=${MODEL_MONITOR_CGROUP_ROOT:-/sys/fs/cgroup}
    meminfo=${MODEL_MONITOR_MEMINFO:-/proc/meminfo}
    percent=${MODEL_MONITOR_DRIVER_MEMORY_PERCENT:-70}
    total_mib=""
    source="no memory limit found"
    if [ -r "$meminfo" ]; then
        kib=$(awk '$1 == "MemTotal:" {print $2; exit}' "$meminfo")
        case "$kib" in '' | *[!0-9]*) ;; *) total_mib=$((kib / 1024)); source="MemTotal" ;; esac
    fi
    for f in "$cgroup/memory.max" "$cgroup/memory/memory.limit_in_bytes"; do
        [ -r "$f" ] || continue
        limit=$(cat "$f")
        case "$limit" in '' | *[!0-9]*) continue ;; esac  # "max": no limit
        limit_mib=$((limit / 1048576))                    # cgroup v1 "no limit" is ~8 EiB: MemTotal wins
        if [ -z "$total_mib" ] || [ "$limit_mib" -lt "$total_mib" ]; then
            total_mib=$limit_mib
            source="cgroup limit $f"
        fi
        break
    done
    if [ -n "$total_mib" ]; then
        heap_mib=$((total_mib * percent / 100))
        [ "$heap_mib" -ge 512 ] || heap_mib=512
        MODEL_MONITOR_DRIVER_MEMORY="${heap_mib}m"
        export MODEL_MONITOR_DRIVER_MEMORY
        echo "model-monitor-entrypoint: Spark driver memory ${MODEL_MONITOR_DRIVER_MEMORY}" \
             "(${percent}% of ${total_mib} MiB, ${source})" >&2
    else
        echo "model-monitor-entrypoint: ${source}; Spark driver memory stays at the default" >&2
    fi
fi

exec model-monitor analyze "$@"
