#!/usr/bin/env bash
# test.sh: build and test every configuration; what `npm test` runs.
#
#   scripts/test.sh [config...]     configs: default poll asan tsan fuzz wasi js browser bundlers
#                                   bench
#                                   (default: all)
#
# Each configuration is configured, built and tested with ctest in its own tree
# under build/ (build/default, build/poll, build/asan), so reruns are
# incremental. All configurations run even if one fails; a summary at the end
# lists each result, and the exit status is non-zero if any failed.
#
# Environment: TIDE_WERROR=OFF to let warnings pass (default ON, as in CI);
# TIDE_JOBS to change build parallelism (default: number of CPUs);
# CC to pick the compiler.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

bash scripts/ensure-deps.sh || exit 1

werror=${TIDE_WERROR:-ON}
jobs=${TIDE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}

all_configs=(default poll asan tsan fuzz wasi js browser bundlers bench)

# Sets `args` to the extra cmake arguments of configuration $1 (1 if unknown).
# The poll build is what a user's Release build is (-O3 -DNDEBUG, warnings as
# errors under TIDE_WERROR), so that warnings only the optimiser finds, with
# the asserts compiled out, fail CI too (gcc -O3 found a maybe-uninitialized
# that -O2 with asserts did not); default and asan keep the asserts.
config_args() {
  case $1 in
    default) args=(-DCMAKE_BUILD_TYPE=Debug) ;;
    poll) args=(-DTIDE_BACKEND=poll -DCMAKE_BUILD_TYPE=Release
                "-DCMAKE_C_FLAGS_RELEASE=-O3 -DNDEBUG") ;;
    asan) args=(-DCMAKE_BUILD_TYPE=Debug "-DTIDE_SANITIZE=address,undefined") ;;
    # ThreadSanitizer over the whole suite (about a minute): what matters is
    # the threaded tests (test-native-loops-threads.c, -work, -resolve,
    # -process, -async, -signal, the echo example's --threads check), but the
    # rest is cheap and single-threaded code gets no reports. TSan makes the
    # heavy tests several times slower (the 64 MiB communicate: 12 s alone,
    # over 30 s on a loaded machine), so each C test gets 120 s, not 30. Runs
    # under run_tsan_ctest.
    tsan) args=(-DCMAKE_BUILD_TYPE=Debug -DTIDE_SANITIZE=thread -DTIDE_TEST_TIMEOUT=120) ;;
    # The libFuzzer harness tests/fuzz/fuzz-loop.c (clang, ASan + UBSan, -O1 for
    # speed, asserts kept): a bounded smoke run from the seed corpus
    # (TIDE_FUZZ_SECONDS, default 45). README.md says how to run it long.
    fuzz) args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang-14 -DTIDE_FUZZ=ON
                "-DTIDE_SANITIZE=address,undefined" "-DCMAKE_C_FLAGS_DEBUG=-g -O1") ;;
    # wasm32-wasi with clang + wasi-libc; ctest runs each test under Node's WASI
    # (wasi.*, fake.*, ...) and again under every other WASI runtime found
    # (iwasm.*: wasm/wasi-runtimes.cmake; TIDE_WASI_RUNTIMES / TIDE_IWASM choose).
    wasi) args=(-DCMAKE_BUILD_TYPE=Debug
                "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-wasi.cmake") ;;
    # The JS host: wasm modules built with wasm/toolchain-js.cmake. ctest runs
    # the portable C suite (js.*: each test a module run by
    # js/bin/tideloop-run.mjs under Node; what the host cannot run is a skip
    # with its reason, tests/c/js-host.skip) and the examples; then the npm
    # package in js/ runs `node --test tests/js/`.
    # Examples written with TIDE_MAIN are built as modules too (a cache from
    # before they were may still say OFF). Then the size build (run_size_tests).
    js) args=(-DCMAKE_BUILD_TYPE=Debug -DTIDE_BUILD_EXAMPLES=ON
              "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-js.cmake") ;;
    # Every benchmark once with a tiny N, results checked, nothing timed
    # (bench/run.sh --smoke: its own -O2 trees under build/bench/).
    bench) args=() ;;
    # Headless Chromium and headless Firefox ESR (Debian's chromium and
    # firefox-esr, both driven by puppeteer-core from
    # tests/browser/package-lock.json) on the js config's tree (built here if
    # missing): node --test tests/browser/, every suite once per engine;
    # screenshots in build/browser-artifacts/<engine>/.
    browser) args=() ;;
    # The package as a web app gets it: `npm pack` in js/ (its prepack builds
    # the shipped modules in build/js-pack), installed into a fresh project,
    # built with Vite and with esbuild and as a plain page with an import map,
    # each served on 127.0.0.1 and run in headless Chromium; and tsc on
    # index.d.ts under several lib settings (node --test tests/bundlers/, tools
    # from tests/bundlers/package-lock.json).
    bundlers) args=() ;;
    *) return 1 ;;
  esac
}

if (($#)); then
  configs=("$@")
else
  configs=("${all_configs[@]}")
fi
for c in "${configs[@]}"; do
  if ! config_args "$c"; then
    echo "test.sh: unknown config '$c' (known: ${all_configs[*]})" >&2
    exit 2
  fi
  # The WASI build needs clang's wasm32 target, wasm-ld, llvm-ar and wasi-libc
  # (Node, which runs the tests, comes with the machine).
  if [[ $c == wasi || $c == js ]]; then
    bash scripts/ensure-deps.sh clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32 ||
      exit 1
  fi
  # The JS host's tests also build modules with emcc (build-routes.test.mjs).
  if [[ $c == js ]]; then bash scripts/ensure-deps.sh emscripten || exit 1; fi
  if [[ $c == bundlers ]]; then
    bash scripts/ensure-deps.sh chromium clang-14 lld-14 llvm-14 wasi-libc \
      libclang-rt-14-dev-wasm32 || exit 1
  fi
  # libFuzzer (libclang_rt.fuzzer) comes with clang's runtime package.
  if [[ $c == fuzz ]]; then
    bash scripts/ensure-deps.sh clang-14 libclang-rt-14-dev || exit 1
  fi
  if [[ $c == browser ]]; then
    bash scripts/ensure-deps.sh chromium firefox-esr clang-14 lld-14 llvm-14 wasi-libc \
      libclang-rt-14-dev-wasm32 || exit 1
  fi
done

# Sanitizer runtime options (ignored by the other builds): a leak fails the test
# (LeakSanitizer), and UBSan prints a stack and fails the test at its first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A data race fails the test at its first report.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

declare -A result=() seconds=()
failed=0

run_config() {
  local name=$1 dir="build/$1" log="build/$1.configure.log" args
  if [[ $name == bench ]]; then bash bench/run.sh --smoke; return; fi
  if [[ $name == browser ]]; then run_browser_tests; return; fi
  if [[ $name == bundlers ]]; then run_bundler_tests; return; fi
  if [[ $name == fuzz ]]; then run_fuzz_smoke; return; fi
  config_args "$name"
  echo
  echo "=== [$name] configure: ${args[*]}"
  if ! cmake -S . -B "$dir" -DTIDE_WERROR="$werror" "${args[@]}" >"$log" 2>&1; then
    cat "$log"
    return 1
  fi
  echo "=== [$name] build"
  cmake --build "$dir" --parallel "$jobs" || return 1
  echo "=== [$name] test"
  if [[ $name == tsan ]]; then
    run_tsan_ctest "$dir"
  elif [[ $name == js ]]; then
    local rc=0
    ctest --test-dir "$dir" --output-on-failure -j2 || rc=1
    run_js_tests "$dir" || rc=1
    run_size_tests || rc=1
    return $rc
  else
    ctest --test-dir "$dir" --output-on-failure -j2
  fi
}

# ctest for the TSan tree $1 with address-space randomisation off for the tests
# (setarch -R, inherited by every process ctest starts): gcc 12's TSan maps its
# shadow memory at fixed addresses and dies with "unexpected memory mapping"
# where the kernel randomises more (vm.mmap_rnd_bits > 28, the default of newer
# kernels). Where setarch cannot change the personality (a sandbox that
# forbids it), the tests run as they are.
run_tsan_ctest() {
  local norandom=()
  if setarch "$(uname -m)" -R true 2>/dev/null; then norandom=(setarch "$(uname -m)" -R); fi
  echo "=== [tsan] vm.mmap_rnd_bits=$(sysctl -n vm.mmap_rnd_bits 2>/dev/null || echo '?');" \
    "${norandom[*]:-ASLR left on (setarch -R not permitted)}"
  "${norandom[@]}" ctest --test-dir "$1" --output-on-failure -j2
}

# The package's own dev dependencies (typescript, for the .d.ts check) come from
# js/package-lock.json, and the WebSocket echo server the Node and browser
# suites share (tests/shared/ws-server.mjs, on the `ws` package) from the
# browser suite's lockfile; then node's test runner runs every suite in
# tests/js, with the test module and the build tree (examples/*.wasm) of build
# dir $1.
run_js_tests() {
  if [[ ! -d js/node_modules ]]; then
    npm ci --prefix js --no-audit --no-fund --loglevel=error || return 1
  fi
  if [[ ! -d tests/browser/node_modules/ws ]]; then
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error || return 1
  fi
  TIDE_TEST_MODULE="$root/$1/tests/modules/tide-test-module.wasm" TIDE_JS_BUILD="$root/$1" \
    node --test tests/js/
}

# The size build (-DTIDE_SIZE=ON, README.md "The size build") in its own tree,
# build/js-small: only the modules the JS suites load, then the suites of the
# loop itself against it: tasks, host calls, cancellation, errors, hostile
# input, virtual time, and the compact allocator (alloc.test.mjs). The I/O
# suites stay with the default build: a size build changes no I/O code, only
# how it is compiled and allocated, which these suites cover.
run_size_tests() {
  local dir=build/js-small
  echo "=== [js] size build: $dir"
  build_size_modules || return 1
  TIDE_TEST_MODULE="$root/$dir/tests/modules/tide-test-module.wasm" TIDE_JS_BUILD="$root/$dir" \
    node --test tests/js/{alloc,calls,cancel,drive,host,hostile,inline,keepalive,load,toolbox,virtual-time}.test.mjs
}

# Configure build/js-small (the size build for the JS host) and build the
# modules the JS and browser suites load from it.
build_size_modules() {
  local dir=build/js-small log=build/js-small.configure.log
  if ! cmake -S . -B "$dir" -DTIDE_WERROR="$werror" -DTIDE_SIZE=ON -DCMAKE_BUILD_TYPE=Debug \
      "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-js.cmake" >"$log" 2>&1; then
    cat "$log"
    return 1
  fi
  cmake --build "$dir" --parallel "$jobs" --target tide-test-module tide-alloc-test-module
}

# Build only the fuzz target (its own tree: everything instrumented for
# libFuzzer) and fuzz for a bounded time, starting from a copy of the seed
# corpus (the repository's corpus is never written to). A finding fails the
# config and leaves its input in build/fuzz/artifacts/.
run_fuzz_smoke() {
  local dir=build/fuzz args secs=${TIDE_FUZZ_SECONDS:-45}
  config_args fuzz
  echo
  echo "=== [fuzz] configure: ${args[*]}"
  cmake -S . -B "$dir" -DTIDE_WERROR="$werror" "${args[@]}" >build/fuzz.configure.log 2>&1 ||
    { cat build/fuzz.configure.log; return 1; }
  echo "=== [fuzz] build"
  cmake --build "$dir" --parallel "$jobs" --target tide-fuzz-loop || return 1
  echo "=== [fuzz] smoke: ${secs}s from tests/fuzz/corpus"
  rm -rf "$dir/smoke-corpus"
  mkdir -p "$dir/smoke-corpus" "$dir/artifacts"
  cp tests/fuzz/corpus/* "$dir/smoke-corpus/"
  "$dir/tests/fuzz/tide-fuzz-loop" -max_total_time="$secs" -timeout=20 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/smoke-corpus" 2>"$dir/smoke.log"
  local rc=$?
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec)|model violated|ERROR:' \
    "$dir/smoke.log"
  if ((rc != 0)); then
    tail -n 60 "$dir/smoke.log"
    echo "=== [fuzz] FINDING: input in $dir/artifacts/ (replay: $dir/tests/fuzz/tide-fuzz-loop FILE)"
    return 1
  fi
}

# The browser suite needs the js config's modules (build/js): built here, not
# tested, when that config has not run; then puppeteer-core from the suite's
# lockfile, then every suite in tests/browser, in Chromium and in Firefox (a
# missing browser fails its tests; TIDE_BROWSERS narrows the engines).
run_browser_tests() {
  local args
  echo
  echo "=== [browser] build/js"
  if [[ ! -f build/js/CMakeCache.txt ]]; then
    config_args js
    cmake -S . -B build/js -DTIDE_WERROR="$werror" "${args[@]}" >build/js.configure.log 2>&1 ||
      { cat build/js.configure.log; return 1; }
  fi
  cmake --build build/js --parallel "$jobs" || return 1
  if [[ ! -d tests/browser/node_modules/puppeteer-core || ! -d tests/browser/node_modules/ws ]]; then
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error || return 1
  fi
  echo "=== [browser] test (engines: ${TIDE_BROWSERS:-chromium,firefox})"
  TIDE_JS_BUILD="$root/build/js" node --test tests/browser/ || return 1
  # The loop's own browser suites (scenarios, a burst's frames, a worker)
  # again on the size build, whose code is compiled and allocated otherwise;
  # the demo and WebSockets stay with the default build (no I/O code differs).
  echo "=== [browser] size build: build/js-small"
  build_size_modules || return 1
  TIDE_JS_BUILD="$root/build/js-small" \
    node --test tests/browser/{scenarios,responsiveness,worker}.test.mjs
}

# Vite, esbuild, puppeteer-core, typescript and @types/node from the suite's
# lockfile (installed again when the lockfile is newer than node_modules), then
# node --test tests/bundlers/ (it packs js/ itself; a missing chromium fails).
run_bundler_tests() {
  echo
  if [[ tests/bundlers/package-lock.json -nt tests/bundlers/node_modules/.package-lock.json ]]; then
    npm ci --prefix tests/bundlers --no-audit --no-fund --loglevel=error || return 1
  fi
  echo "=== [bundlers] test"
  node --test tests/bundlers/
}

# Where each configuration builds (and what the summary names).
tree_of() {
  case $1 in
    browser) echo build/js ;;
    bundlers) echo build/js-pack ;;
    *) echo "build/$1" ;;
  esac
}

# The tests a configuration skipped, as "<count> <reason>" lines, most first.
# ctest's own summary names the skipped tests ("<n> - <name> (Skipped)") but not
# why; the reason is the test's output ("SKIPPED <name>: <reason>": tests/c/test.h
# and the registrations in tests/c/CMakeLists.txt), found in ctest's log. (The
# log alone cannot tell: a test that checks the skip mechanism prints the same
# line and passes.) node --test's "# skipped N" counts go under one line. A
# skip must show, never read as a pass.
skips_of() {
  local c=$1 out=build/$1.test.log
  local ctest_log="build/$c/Testing/Temporary/LastTest.log"
  [[ -f $out ]] || return 0
  if [[ -f $ctest_log ]]; then
    awk '
      FNR == NR {
        if (match($0, /^[ \t]*[0-9]+ - .* \(Skipped\)$/)) {
          name = $0
          sub(/^[ \t]*[0-9]+ - /, "", name)
          sub(/ \(Skipped\)$/, "", name)
          skipped[name] = 1
        }
        next
      }
      /^[0-9]+\/[0-9]+ Testing: / { name = $0; sub(/^[0-9]+\/[0-9]+ Testing: /, "", name); said = 0 }
      /^SKIPPED [^:]*: / && (name in skipped) && !said {
        reason = $0
        sub(/^SKIPPED [^:]*: /, "", reason)
        print reason
        said = 1
        delete skipped[name]
      }
      END { for (n in skipped) print "(no reason printed: " n ")" }
    ' "$out" "$ctest_log" | sort | uniq -c | sort -rn
  fi
  awk '/^# skipped [0-9]+/ { n += $3 } END { if (n > 0) printf "%7d %s\n", n, "node --test: skipped (see the log)" }' "$out"
}

# What failed in a config, for the summary: CI keeps only the end of the log,
# so a failure must be named there, not only a thousand lines above. ctest's
# list of failed tests, the tests' own FAIL lines (tests/c/test.h), and
# node --test's "not ok" lines, at most 20 of them.
failures_of() {
  local out=build/$1.test.log
  [[ -f $out ]] || return 0
  grep -E '^[[:space:]]+[0-9]+ - .* \((Failed|Timeout|Subprocess aborted|SEGFAULT|Exception|Child aborted|ILLEGAL|BUS|INTERRUPT|Not Run)[^)]*\)$|^FAIL |^not ok ' "$out" |
    grep -v '# SKIP' | head -n 20
}

mkdir -p build
for c in "${configs[@]}"; do
  start=$SECONDS
  # The test output also goes to build/<config>.test.log, for the summary.
  if run_config "$c" > >(tee "build/$c.test.log") 2>&1; then
    result[$c]=PASS
  else
    result[$c]=FAIL
    failed=1
  fi
  seconds[$c]=$((SECONDS - start))
done

echo
echo "=== summary"
for c in "${configs[@]}"; do
  skipped=$(skips_of "$c")
  count=$(awk '{ n += $1 } END { print n + 0 }' <<<"$skipped")
  printf '  %-8s %s  (%ss, %s)' "$c" "${result[$c]}" "${seconds[$c]}" "$(tree_of "$c")"
  if ((count > 0)); then
    printf ', %d skipped:\n' "$count"
    sed 's/^/           /' <<<"$skipped"
  else
    printf '\n'
  fi
  if [[ ${result[$c]} == FAIL ]]; then
    failures_of "$c" | sed 's/^[[:space:]]*/           failed: /'
  fi
done
if ((failed)); then
  echo "=== FAILED"
  exit 1
fi
echo "=== all passed"
