#!/usr/bin/env bash
# The MPI build (docs/CLUSTER.md) against the plain build, as issue 19 asks:
#   mpi.sh MPI_NMDL PLAIN_NMDL CORPUS WORKDIR
# On the first 256 KB of CORPUS at effort 1 (the neural frame, --no-fallback):
# `mpirun -np 1`, `-np 2` and `-np 3` (oversubscribed) write files
# byte-identical to the plain build's; `mpirun -np 2 nmdl -d` and the plain
# build restore the input; ranks given different arguments are refused
# before any work; a rank killed in training ends the job non-zero and
# leaves no output file. Exit 0 when all hold, 77 (skipped) without mpirun.
set -euo pipefail
command -v mpirun >/dev/null || { echo "mpi: no mpirun: skipped"; exit 77; }
[ -r "$3" ] || { echo "mpi: $3 missing: skipped"; exit 77; }
mpi_nmdl=$(realpath "$1") plain=$(realpath "$2") corpus=$(realpath "$3") work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work"
head -c 262144 "$corpus" > in
# root may run mpirun only when asked; a machine with fewer cores than
# ranks needs --oversubscribe
run() { mpirun --allow-run-as-root --oversubscribe "$@"; }
fail() { echo "mpi: FAILED: $*" >&2; exit 1; }
opts=(-1 --no-fallback -q -k -T 1)

"$plain" "${opts[@]}" -o plain.nmdl in
for np in 1 2 3; do
  run -np $np "$mpi_nmdl" "${opts[@]}" -o np$np.nmdl in
  cmp plain.nmdl np$np.nmdl || fail "-np $np wrote another file than the plain build"
  echo "mpi: -np $np: the plain build's file ($(stat -c %s np$np.nmdl) bytes)"
done
[ "$("$plain" -l plain.nmdl | grep -c neural)" -ge 1 ] || fail "the file is not neural"

run -np 2 "$mpi_nmdl" -d -q -o back2 np2.nmdl
cmp back2 in || fail "mpirun -np 2 nmdl -d did not restore the input"
"$plain" -d -q -o back1 np3.nmdl
cmp back1 in || fail "the plain build did not restore the -np 3 file"
echo "mpi: decoded by -np 2 and by the plain build"

# ranks that disagree: a different effort on rank 1
if run -np 1 "$mpi_nmdl" "${opts[@]}" -o differ.nmdl in : \
       -np 1 "$mpi_nmdl" -2 --no-fallback -q -k -T 1 -o differ.nmdl in 2> differ.err; then
  fail "ranks with different arguments ran"
fi
grep -q "MPI rank 1 runs another build of nmdl or other arguments" differ.err \
  || fail "no clear error for ranks that disagree: $(head -c 300 differ.err)"
[ ! -e differ.nmdl ] || fail "ranks that disagree left an output file"
echo "mpi: ranks that disagree are refused"

# a rank that dies: the job ends non-zero and leaves nothing behind
run -np 2 "$mpi_nmdl" "${opts[@]}" -o killed.nmdl in > kill.out 2>&1 & job=$!
for _ in $(seq 100); do # the second rank, once both are training
  victim=$(pgrep -f -- "-o killed.nmdl in" | sort -n | tail -n 1 || true)
  [ "$(pgrep -fc -- "-o killed.nmdl in" || true)" -ge 3 ] && break
  sleep 0.1
done
sleep 2
kill -9 "$victim"
if wait $job; then fail "the job went on after a rank died"; fi
ls -a | grep -q killed && fail "a rank that died left $(ls -a | grep killed)"
echo "mpi: a killed rank ends the job (status non-zero), no output file"
echo "mpi: all passed"
