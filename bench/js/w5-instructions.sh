#!/usr/bin/env bash
# w5-instructions.sh: W5's cost per round trip in machine instructions, which,
# unlike time, does not move with the machine's load: valgrind's callgrind
# counts every instruction of the process, and the difference between a run
# of N1 and one of N2 round trips, over N2 - N1, leaves out the start-up. Node
# runs --single-threaded: V8 then compiles and collects on the main thread, so
# when the optimised code arrives does not depend on how threads were
# scheduled, and performance.now() runs 100 times slower than the wall clock
# (js/valgrind-clock.mjs), so that the host's 4 ms time slices end about as
# often as in a real run, not every few dozen round trips. The unoptimised
# counts then move by up to about 3% between runs (7% with the wall clock). The
# optimised ones still fall in one of two modes, for tideloop (about 3,100 or
# 4,000 instructions a round trip) as for the bare driver (about 2,250 or
# 3,000), from one and the same module: which code V8 makes varies. So compare
# builds over several runs. Two regimes, each for
# tideloop, its bare driver (the same wasm under the least JS that can drive
# it, js/w5-bare.mjs: what tideloop's C side and the crossings cost), a pure JS
# await and the hand-written callback (the floor of a C -> JS -> C round trip):
#   unoptimised  node --no-opt, 2,000 vs 12,000: V8 never optimises, which is
#                what the first thousands of round trips cost (most of W5's
#                time at N = 20,000)
#   optimised    20,000 vs 220,000: the JIT-compiled path
#
#   bash bench/js/w5-instructions.sh [W5_WASM]   (after bench/build.sh; about 5 min)
#   bash bench/js/w5-instructions.sh --by-function [W5_WASM]   (about 1 min)
#
# --by-function counts the unoptimised regime only, for tideloop and its bare
# driver, and splits each round trip by function (callgrind_annotate over the
# two runs; V8's builtins keep their names in Node's binary, JIT and wasm code
# shows as addresses): the top functions, the share of V8's property-access
# inline caches (Builtins_*IC*) and the number of calls into them, which is
# where unoptimised JS spends most of its time: each property read or write of
# baseline code is a call into one.
#
# W5_WASM (default build/bench/js/w5_roundtrip.wasm) is the module tideloop and
# the bare driver run: another build of bench/c/w5_roundtrip.c (other wasm-opt
# flags, say) is compared with the default this way.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
command -v valgrind >/dev/null || { echo "w5-instructions.sh: needs valgrind" >&2; exit 2; }

by_function=0
if [[ ${1:-} == --by-function ]]; then
  by_function=1
  shift
fi
wasm=${1:-build/bench/js/w5_roundtrip.wasm}
[[ -f $wasm ]] || { echo "w5-instructions.sh: no $wasm (run bench/build.sh)" >&2; exit 2; }
tide=(node bench/js/run-tideloop.mjs "$wasm")
bare=(node bench/js/w5-bare.mjs "$wasm")
js=(node bench/js/w5-js.mjs)
callback=(node bench/js/w5-callback.mjs build/bench/emcc/w5_callback.wasm)

# callgrind OUT FLAGS N PROGRAM...: PROGRAM with N round trips under callgrind
# (its profile to OUT), as every count here runs it; prints valgrind's output.
callgrind() {
  local out=$1 flags=$2 n=$3
  shift 3
  valgrind --tool=callgrind --callgrind-out-file="$out" "$1" --single-threaded \
    --import "$root/bench/js/valgrind-clock.mjs" $flags "${@:2}" "$n" 2>&1
}

# instructions FLAGS N PROGRAM...: callgrind's total for PROGRAM with N.
instructions() {
  callgrind /dev/null "$@" | awk '/Collected/ {gsub(",", "", $4); print $4}'
}

per_trip() { # per_trip FLAGS N1 N2 PROGRAM...
  local flags=$1 n1=$2 n2=$3
  shift 3
  local a b
  a=$(instructions "$flags" "$n1" "$@")
  b=$(instructions "$flags" "$n2" "$@")
  echo $(((b - a) / (n2 - n1)))
}

# by_function NAME PROGRAM...: the unoptimised round trip of PROGRAM by
# function, and how many calls into the inline caches it makes.
by_function() {
  local name=$1 dir n
  shift
  dir=$(mktemp -d)
  for n in 2000 12000; do
    callgrind "$dir/$n" --no-opt "$n" "$@" >/dev/null
    # "1,234 ( 5.6%)  file:function [object]" -> "1234<TAB>file:function [object]"
    callgrind_annotate --threshold=100 "$dir/$n" |
      awk '/file:function/ {go = 1; next}
        go && $1 ~ /^[0-9,]+$/ {v = $1; gsub(",", "", v); sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "");
          print v "\t" $0}' >"$dir/$n.fn"
    # Calls into the inline caches, from the profile's call records: a
    # "cfn=(id) name" line (the name only where the id first appears) names
    # the callee of the "calls=COUNT ..." line after it.
    awk '/^c?fn=\(/ {id = $1; sub(/^c?fn=/, "", id); if (NF > 1) name[id] = $2}
      /^cfn=/ {callee = id}
      /^calls=/ {split($1, c, "="); calls[callee] += c[2]}
      END {for (i in calls) if (name[i] ~ /^Builtins_[A-Za-z]*IC$/) total += calls[i]; print total + 0}' \
      "$dir/$n" >"$dir/$n.ic"
  done
  echo "== $name: unoptimised instructions per round trip (12,000 - 2,000 round trips) by function"
  awk -F'\t' 'FNR == NR {a[$2] = $1; next}
    {d = ($1 - a[$2]) / 10000; total += d; if ($2 ~ /Builtins_[A-Za-z]*IC/) ic += d
     if (d >= 50) printf "%8.0f  %s\n", d, substr($2, 1, 100)}
    END {printf "%8.0f  in all; %.0f (%.0f%%) in the property-access inline caches (Builtins_*IC*)\n",
      total, ic, 100 * ic / total}' "$dir/2000.fn" "$dir/12000.fn" | sort -rn | head -16
  echo "$(( ($(<"$dir/12000.ic") - $(<"$dir/2000.ic")) / 10000 )) calls into the inline caches" \
    "(Builtins_LoadIC, StoreIC, KeyedLoadIC, KeyedStoreIC, ...) per round trip"
  rm -rf "$dir"
}

if ((by_function)); then
  command -v callgrind_annotate >/dev/null || { echo "w5-instructions.sh: needs callgrind_annotate" >&2; exit 2; }
  by_function tideloop "${tide[@]}"
  by_function 'bare driver' "${bare[@]}"
  exit 0
fi

printf '%-34s %12s %12s\n' 'instructions per round trip' unoptimised optimised
for name in tide bare js callback; do
  declare -n cmd=$name
  printf '%-34s %12s %12s\n' "$name" \
    "$(per_trip --no-opt 2000 12000 "${cmd[@]}")" "$(per_trip '' 20000 220000 "${cmd[@]}")"
done
