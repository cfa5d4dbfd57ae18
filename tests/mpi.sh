#!/usr/bin/env bash
# The MPI build (docs/CLUSTER.md) against the plain build, as issue 19 asks:
#   mpi.sh MPI_NMDL PLAIN_NMDL CORPUS WORKDIR
# On the first 256 KB of CORPUS at effort 1 (the neural frame, --no-fallback):
# `mpirun -np 1`, `-np 2` and `-np 3` (oversubscribed) write files
# byte-identical to the plain build's; `mpirun -np 2 nmdl -d` and the plain
# build restore the input; `nmdl sweep` on 2 and 3 ranks measures what the
# plain build does; ranks given different arguments are refused
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
run -np 3 "$mpi_nmdl" -t -q np1.nmdl || fail "mpirun -np 3 nmdl -t failed"
echo "mpi: decoded by -np 2, tested by -np 3, decoded by the plain build"

# nmdl sweep with its sizes dealt over 2 ranks: the records of the plain
# build's sweep but their times, date and commit; a sweep resumed on 3
# ranks measures only the size whose record is gone
sw=(-1 -T 1 --chains 1 --burnin 0 --draws 20 --step 1e-5 --repairs 0 --sizes 8K,16K,32K)
no_times() { awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) keep[i] = $i !~ /_s$|^date$|^commit$/ }
  { o = ""; for (i = 1; i <= NF; i++) if (keep[i]) o = o $i ","; print o }' "$1"; }
"$plain" sweep in "${sw[@]}" --out sweep1 2> /dev/null
run -np 2 "$mpi_nmdl" sweep in "${sw[@]}" --out sweep2 2> /dev/null
cmp <(no_times sweep1/results.csv) <(no_times sweep2/results.csv) \
  || fail "mpirun -np 2 nmdl sweep measured other figures than the plain build"
rm sweep2/size-16384.json
run -np 3 "$mpi_nmdl" sweep in "${sw[@]}" --out sweep2 2> sweep.err
[ "$(grep -c 'done before' sweep.err)" -eq 2 ] || fail "the resumed sweep did not skip 2 sizes"
cmp <(no_times sweep1/results.csv) <(no_times sweep2/results.csv) \
  || fail "the sweep resumed on 3 ranks measured other figures"
echo "mpi: sweep on 2 ranks, resumed on 3: the plain build's records"

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
