#!/usr/bin/env bash
# benchmarks/distributed.sh [build dir] [benchmark flags...]: model A's and model F's
# training steps as 1 process x all cores' threads and as 2 processes x (cores / 2)
# threads (mpirun -np 2), one after the other on this machine.
set -euo pipefail
build=${1:-build}
shift || true
program=$build/benchmarks/distributed
[ -x "$program" ] || { echo "distributed.sh: $program not built (needs MPI and -DTYPENET_BUILD_BENCHMARKS=ON: cmake --build $build --target distributed)"; exit 1; }
root=()
if [ "$(id -u)" -eq 0 ]; then root=(--allow-run-as-root); fi
echo "== 1 process"
"$program" "$@"
echo "== 2 processes (mpirun -np 2)"
mpirun -np 2 --oversubscribe --bind-to none "${root[@]}" "$program" "$@"
