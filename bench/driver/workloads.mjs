// workloads.mjs: the workload table of issue 6 as data: for each workload, the
// programs that run it (tideloop on each host, and the peers), the N each gets,
// the ratios taken inside each round, and the issue's targets.
//
// Every run prints {"ops", "ns", "check", ...} (bench/c/bench.h); the metric is
// ns per op. A ratio is tideloop's ns/op over the peer's ns/op in the same
// round: below 1 means tideloop is faster. A run with `n` of its own runs a
// smaller N than the workload's (a slow peer, to keep the run bounded); its
// ns/op is still per op, and the table says it was scaled.
//
// Runs are listed so that each tideloop run sits next to the peers it is
// compared with (native ones after tideloop native, Node's after the JS host):
// a round runs them in this order (reversed every other round), so the two
// sides of a ratio run close together in time.
//
// profile: native programs to run under callgrind when a target is missed;
// jsProfile: a JS host program for Node's CPU profiler, likewise.
// rate (W6): the workload is read as a rate (requests/s, the extra named by
// rate.key); RESULTS.md shows its ratios as rates (above 1: tideloop faster).
// headline: ratios shown in the targets table where the issue sets no figure,
// or that show where a target's floor lies: [a, b] or [a, b, what it is].
import path from 'node:path';
import { BUILD, echoPair, emcc, jsCommand, jsHost, jsHostScript, native, nodePeer, python, wasi } from './paths.mjs';

const M = 1_000_000;
/* W5's module, which js/w5-bare.mjs drives without the package. */
const W5_WASM = path.join(BUILD, 'js', 'w5_roundtrip.wasm');

/* Groups: what must be installed or built for a run (driver/availability.mjs). */
const TIDE = 'tideloop';
const C_PEERS = 'c-peers';
const NODE = 'node';
const ASYNCIO = 'asyncio';
const UVLOOP = 'uvloop';
const EMCC = 'emcc';
/* W6: each server needs the client (native/echo_client) and its own build. */
const ECHO_TIDE = 'tideloop echo (native)';
const ECHO_TIDE_JS = 'tideloop echo (JS host)';
const ECHO_LIBUV = 'libuv echo';
const ECHO_NODE = 'Node net echo';

/* What is left where a target is missed (RESULTS.md prints it after the
 * profile). Written by hand from the profiles and the code: it says why, so it
 * names structures, not figures that each run changes. */
const W1_LEFT = 'Per callback tideloop runs about ten times the floor\'s instructions (the profile above). ' +
  '`tide_call_soon` takes a pooled record and gives a cancellable, generation-checked handle (asyncio\'s ' +
  'Handle; neither the floor nor libev has one); the ready queue is an intrusive list, moved whole into ' +
  'each tick\'s snapshot (asyncio\'s order: what a callback schedules runs in the next tick, and I/O is ' +
  'polled every 1024 callbacks); and with one chain every callback is a tick of its own, which checks ' +
  'the timer heap once. libev\'s `ev_feed_event` appends a pointer to an array it walks last fed first, ' +
  'with no handle and no snapshot. Tried and not kept (callgrind, N = 200,000, on that variant, which ' +
  'is not in the repository): the whole ready ' +
  'queue as a ring of (function, argument) entries, where a call with no handle is two words with no ' +
  'record, a runnable is an entry whose link keeps its position (so a removal leaves a hole), the ' +
  'snapshot is a position, and runnables wait in a list behind the ring when it is full. It took W1 ' +
  'from 95.8 to 83.9 instructions per callback with one chain and from 75.0 to 65.0 with 1,000, but ' +
  'a task\'s yield (W3) from 224 to 288 and timers (W2) 8% up, and the core\'s code grew by about 300 ' +
  'bytes: ' +
  'a runnable in the intrusive list costs four stores to queue, which no ring entry that can be ' +
  'removed beats. Nor a ring for calls with no handle only, standing in the list as one runnable per ' +
  'run of consecutive calls (two such batches, one taking calls while the other runs): 75.0 -> 68.2 ' +
  'instructions per callback with 1,000 chains, but 95.8 -> 182 with one, where every callback is a ' +
  'tick of its own and so a batch of one. Nor, for that case, a tick of one runnable run straight ' +
  'from the ready queue instead of moved into the snapshot first: 95.1 -> 85.1 instructions per ' +
  'callback with one chain, but 74.2 -> 75.2 with 1,000 and a task\'s yield (W3) 223 -> 229, from ' +
  'the compiler\'s code for the loop as much as from the added test (the same idea with one call ' +
  'site for both: 94.1, 76.2 and 238). The record, its free list and the four-store list queue ' +
  'are close to what a handle that can be cancelled costs; libev has none. The JS host runs the same C ' +
  'compiled to wasm, where a call through a function pointer checks the table index and the ' +
  'signature: there (not in size builds) the loop calls a call_soon record\'s runner and a task\'s ' +
  'step directly (src/core/loop.c, run_runnable). In five A/B runs on the JS host (Node, medians ' +
  'of 5-9 interleaved runs, ad hoc, on a machine whose load moved the figures by a fifth between ' +
  'runs; two of them with the direct call, three with the record run in place, which were within ' +
  'the noise of each other) that took W1 from 20.9-23.9 to 18.1-20.2 ns per callback with one ' +
  'chain and from 20.1-24.7 to 17.9-20.1 with 1,000, and a task\'s yield (W3) from 19.7-20.6 to ' +
  '16.4-19.4 ns, with W2, W4 and W5 within the noise; natively the same tests made W1 slower (6.6 ' +
  'to 8.0 ns: there the indirect call is a predicted branch), so they are made in wasm only.';

const W2_LEFT = 'A `tide_timer` is the head every tideloop handle shares (user data, loop, type, flags, ' +
  'close callback and the runnable that delivers it: what `tide_handle_close` and ref/unref need), a ' +
  'timer-heap entry (the links of its bucket of equal deadlines, a sequence number that keeps equal ' +
  'deadlines in start order, a 32-bit slot; the runnable it queues when due is the head\'s, found ' +
  'right before it), the repeat and the callback. libev\'s 48-byte `ev_timer` has no close callback ' +
  'and no sequence (its timers of one deadline fire in no set order). 48 bytes would mean giving up ' +
  'the close callback or the FIFO order of equal deadlines, both part of the API\'s contract; not ' +
  'done. `tide_call_later` counts its pooled record (the same entry, the callback, its loop and ' +
  'generation) and its heap slot. The wasm hosts\' 1.3x limits against native sit at the edge of ' +
  'the noise: over this week\'s runs their medians went from 1.20x to 1.66x, with rounds of one run ' +
  'spanning 1.10x-1.89x; most of the time is the heap\'s sift (the profile above), which at a ' +
  'million timers walks a heap far larger than the caches in either build.';

const W3_LEFT = 'A switch is the same C in every build: the yielding task queues its step and returns, ' +
  'the loop takes the other task\'s step from its snapshot and calls its coroutine through a function ' +
  'pointer (the profile above). In wasm that pointer is a `call_indirect` through the function table, ' +
  'with its signature checked on every call, and every load and store is bounds-checked, so the ' +
  'same instructions take about three times as long as natively; the two wasm hosts sit near the ' +
  '30 ns limit and cross it in some runs. So in wasm the loop calls a task\'s step directly, not ' +
  'through the ready queue\'s runnable (src/core/loop.c, run_runnable), and a switch makes one ' +
  'indirect call, the coroutine\'s: on the JS host a yield went from 19.7-20.6 to 16.4-19.4 ns ' +
  '(A/B runs, ad hoc; W1\'s "what is left").';

const W4_LEFT = 'A task is one block from a 16-byte size class of the loop\'s slabs (no malloc ' +
  'once warm): its `tide_future` (so that it can be awaited, cancelled and joined; until the ' +
  'task ends, the future\'s runnable is the task\'s step or its waiter, and the room of its ' +
  'cancel hook and outcome holds the task\'s timer-heap entry and step function), its coroutine ' +
  'state, the sleep\'s deadline and sequence or what it awaits, its link in the loop\'s list of ' +
  'live tasks (the task dump, the trace), its spawn number (its default name), its cleanup, its ' +
  'open timeout scopes and a pointer to a side block that only named, `TIDE_SPAWN`ed and ' +
  'host-called tasks get; then its frame. A task no longer reserves a timer-heap slot: sleeps at ' +
  'one deadline share a bucket of the heap, a task\'s entry takes a slot only when it starts a ' +
  'bucket, and when the heap cannot grow it joins a bucket of tasks\' entries in order instead ' +
  '(a walk, no memory), so a sleep still cannot fail (218 -> 192 bytes per task; timers in W2 ' +
  'pay 1-2% more instructions, and W7\'s size build grew by about 900 bytes with this and the JS ' +
  'host\'s lazy clock together). When a sleep at the front of a bucket ends, the next one takes ' +
  'its heap slot without a sift unless a child in the heap shares the deadline (a tenth of each ' +
  'task\'s instructions went to that sift), and a spawn zeroes the task and its frame with one ' +
  'memset: about 817 -> 762 instructions per task (callgrind, N = 200,000). A libev ' +
  'timer carries none of this, and its start and expiry are a heap push and a callback, where a ' +
  'task is spawned, stepped, put to sleep, woken, resumed and finished (the profile above: the ' +
  'spawn, which zeroes and links the block and queues the first step, costs the most). The frame ' +
  'starts 16-byte aligned after the task and blocks come in 16-byte classes, so within 128 bytes ' +
  'plus a 4-byte frame the task itself would have to fit 112, 64 bytes less. What would ' +
  'close more, not done: no list of live tasks (16 bytes; the dump would walk the pool\'s slabs ' +
  'and lose the oldest-first order tide.h documents), the slab pointer found from aligned ' +
  'addresses (8), the cleanup and the scope list in the side block (16; their setters cannot ' +
  'fail, and a lost cleanup leaks), the sleep\'s stored deadline and sequence (8-16). At 10x N ' +
  'the tasks stay in bounded memory (the same bytes per task), and the time per task grows with ' +
  'cache and TLB misses over gigabytes.';

/* W5's "what is left", in paragraphs: what a round trip is, where its time
 * goes at N (warm-up) and at 1M (steady state), what was tried, what is left. */
const W5_LEFT = [
  '**What a round trip is.** One import call (`host_start`), one promise reaction and one export ' +
  'call (`tide_js_tick_settle`, which carries the completion): the fewest crossings a design that ' +
  'resumes C from the promise\'s reaction can make, and the same ones the hand-written callback ' +
  'makes (its rows). JSPI instead resumes the suspended wasm stack. In between, the JS host takes a ' +
  'pooled operation record, finds the function by the id C gives its name, takes up to three ' +
  'numbers as the import\'s parameters, starts the function once wasm has returned (C may still ' +
  'cancel it in that turn, and a host function may call back into wasm), makes its options object ' +
  '(`{signal}`, one per call: a function may keep it) and checks the time slice; C takes an ' +
  'operation id, completes the future, runs a loop iteration in the tick and resumes the task (one ' +
  'hop, as asyncio\'s Task wakes). A clock read costs 50-80 ns (1M calls of performance.now() timed ' +
  'in Node, Chromium and Firefox, ad hoc), so ticks that follow each other in a slice read it at ' +
  'most every 16th time, and C reads it only when it needs the time.',
  '**At N = 20,000 (warm-up).** Three parts, each measured by rows above. The JS host\'s own work ' +
  'is tideloop over its bare driver (bench/js/w5-bare.mjs: the same wasm under the least JS that ' +
  'can drive it, no runtime): about half of tideloop\'s time. V8 runs that JS unoptimised for the ' +
  'first thousands of round trips, at about 19,000 instructions a round trip (its bare driver ' +
  '4,700) against 3,100-4,200 once compiled (bench/js/w5-instructions.sh, one run; the pure JS ' +
  'await and the callback: about 1,550 unoptimised, 720-810 compiled). About half of those ' +
  'unoptimised instructions (about 9,800 of 19,000-21,000) are V8\'s property-access inline caches: ' +
  'baseline code calls into one (Builtins_LoadIC, StoreIC, KeyedLoadIC, KeyedStoreIC) for every ' +
  'property read or write, and the host\'s bookkeeping (the record and its pool, the slot table, ' +
  'the deferred queue, the slice\'s clock, the options object, the counters) makes about 155 of ' +
  'them a round trip, at about 60 instructions each; the bare driver makes about 2 ' +
  '(`w5-instructions.sh --by-function`, which counts the calls too; two runs, ad hoc). So the cost ' +
  'before TurboFan is the number of fields the host touches, not the number of its functions, ' +
  'which is why folding functions into fewer took off only 3-8%. TurboFan takes 14-16 ms to ' +
  'compile the host\'s nine hot functions (`node ' +
  '--single-threaded --trace-opt`, three runs, ad hoc), more than the 20,000 compiled round trips ' +
  'then take to run (about 5 ms); the promise\'s reaction alone takes 4.4-7 ms, as it inlines most ' +
  'of the others. With less inlining (`--max-inlined-bytecode-size-cumulative=100`, a V8 flag no ' +
  'user sets) N = 20,000 ran 13-16% faster in Node (medians of 5 and 9 interleaved runs, ad hoc) and ' +
  '0-15% in Chromium (two sets of 5 fresh browsers, bench/browser/v8-flags-probe.mjs); padding a ' +
  'function past V8\'s inlining size only moved the inlining elsewhere, for longer compiles in ' +
  'all. Second, the wasm\'s own warm-up: V8 runs it first as Liftoff\'s code and compiles the hot ' +
  'functions with TurboFan during the run. The two rows with V8 flags compile all of it with ' +
  'TurboFan beforehand (`--no-liftoff --no-wasm-lazy-compilation`): that takes 17-30% off ' +
  'tideloop\'s time at N and 40-47% off the bare driver\'s (this run\'s ratios above and two ' +
  'runs ad hoc), and 22-24% off tideloop\'s in Chromium (v8-flags-probe.mjs, two sets of 5, ad ' +
  'hoc). A page and a package cannot ask for that: V8 decides when to tier up (a ' +
  'budget per function; a budget ten times smaller, a V8 flag, made the bare driver 11% faster ' +
  'and one a hundred times smaller 14% slower, as more compile jobs competed for the 2 cores: ' +
  'medians of 7 interleaved runs, ad hoc). ' +
  'Third, what is left of the bare driver with its wasm compiled beforehand over the callback: ' +
  'tideloop\'s C side, compiled.',
  '**At 1M (steady state).** The C side of a round trip (tide_host_call, the operation table, the ' +
  'future\'s completion, the task\'s wake and resume, one loop iteration and the program\'s own ' +
  'step) is about 1,000 instructions natively (callgrind of the same C on the JS backend with its ' +
  'imports stubbed, ad hoc), and 1,500-2,300 in V8\'s wasm over the callback\'s own crossings ' +
  '(w5-instructions.sh: the bare driver\'s optimised count falls in one of two modes, about 2,250 ' +
  'or 3,000), two to three whole pure JS awaits, and about 55% of the bare driver\'s time (Node, ' +
  'perf over a module linked with its names, 2M round trips, ad hoc), spread over some 30 wasm ' +
  'functions, none above 7%. Its work is spread too: with everything inlined (LTO), natively, the ' +
  'tick and its loop iteration take about 165 instructions, the completion 115, the host call 210, ' +
  'the dispatch, wake and resume 100, the future\'s release 45 (callgrind by source line, ad hoc). ' +
  'The JS host\'s own work, once compiled, is 1,200-1,600 instructions (tideloop over the bare ' +
  'driver, three runs). Garbage collection is not where the gap is: in a Chromium page at 1M round ' +
  'trips (`--trace-gc`, ad hoc) tideloop\'s run had 74 scavenges taking 12.6 ms in all, the ' +
  'callback\'s 74 taking 5.7 ms: about 13 and 6 ns a round trip, 4% of tideloop\'s 295 ns.',
  '**Against the targets.** In the browsers the hand-written callback is the floor of any design ' +
  'that resumes C from the promise\'s reaction through an export call. In Chromium it is itself at ' +
  'or over the edge of the targets (its rows in "In the browsers", the same pages: 1.5-2.5x JSPI ' +
  'at N = 20,000 from run to run), so such a design has no room there, whatever its own cost; in ' +
  'Firefox it is well inside them, and what misses ' +
  'is tideloop\'s cost over it: at 1M round trips (bench/browser/gecko-profile.mjs, Firefox\'s own ' +
  'sampling profiler, one run, ad hoc), of the samples in a round trip\'s promise callbacks, ' +
  'starting the function (its call, its options object and then(), the function\'s own time apart) ' +
  'took 22%, the function itself 19%, the C side in wasm 12%, the host\'s other bookkeeping (the ' +
  'reaction, the tick\'s entry, the record, the clock and slice) about 21%, and the promise jobs ' +
  'between them the rest; the hand-written callback\'s own then() and closure take about a third ' +
  'of its round trip there. In Node the callback costs about what a pure JS await does, so ' +
  '"at most 2x a pure JS await" leaves one await\'s worth (about 780 instructions compiled) for ' +
  'the C side and the JS host together, where the C side alone is two to three times that: the ' +
  'bare driver alone is over 2x a pure JS await at N = 20,000 in every round (the floors in the ' +
  'targets table at the top). Only ' +
  'resuming the suspended wasm stack, as JSPI does, gets under the callback\'s floor, and JSPI ' +
  'would still run the same C side.',
  '**Tried and not kept** (each ad hoc). The host\'s state in closure variables instead of object ' +
  'fields: 13% fewer unoptimised instructions, but a compiled round trip 17% longer and Chromium ' +
  '20-25% slower at N = 20,000-200,000 (calls through closure bindings are not inlined). Private ' +
  'fields made public: the same unoptimised count (23,800 against 24,400 instructions). The ' +
  'operation\'s record made inside the import instead of in a method of its own: 3% fewer ' +
  'unoptimised instructions; with a fast path for a drain of one item as well, 7.5%, and about 8% ' +
  'at N = 20,000 in noisy timings, for a second copy of the drain\'s logic. The ' +
  'operation table\'s lookups, insertion and removal inlined across C files: 8% fewer ' +
  'instructions natively and nothing measurable in the module, where wasm-opt already inlines ' +
  'small functions across the linked files. wasm-opt with far larger inlining limits (-O3 -aimfs ' +
  '80 -fimfs 400 -ifwl): at 1M within the two modes of one module\'s count, for a code section half ' +
  'as large again, and at N = 20,000 slower (the bare driver 971-1,111 ns against 834: larger ' +
  'functions take longer to compile). Link-time optimisation (-flto, library and program): the C ' +
  'side natively from about 1,000 to about 630 instructions, W5 at 1M 9-17% faster and the bare ' +
  'driver 16-20%, at N = 20,000 9% for tideloop and nothing for the bare driver, nothing in W1, W3 ' +
  'or W4; not the default, as it makes the SDK\'s JS-host library LLVM bitcode, which only clang 14 ' +
  'or newer links (emcc takes plain wasm objects). The library pre-linked with LTO into one ' +
  'relocatable object (wasm-ld -r), which emcc would link: within the noise, and a program then ' +
  'pulls in every libc function the library names (docs/TOOLCHAIN.md).',
  '**What is left.** Every lever measured here is worth 10-20%, and the targets need several ' +
  'times that: 2x JSPI at 1M in Chromium needs both the C side and the JS host about halved, and ' +
  'at N = 20,000 the warm-up, which is V8\'s (the JS host\'s compiling and the wasm\'s tier-up), ' +
  'is more than half of the time. A C round trip that does fewer steps, not only fewer calls (the ' +
  'completion resuming its one waiting task without the generic iteration and dispatch), would ' +
  'take an estimated 15% off the C side, not built.',
].join('\n\n');

const W6_LEFT = 'On the JS host each request still crosses ' +
  'between JS and wasm several times (the tick that resumes the task, a direct read import and a write ' +
  'import) and copies the bytes twice (Node\'s Buffer into linear memory, and out again into a new ' +
  'Buffer for the socket), where Node\'s own echo writes back the Buffer it was given. Reading ' +
  'into linear memory without a stream is what Node\'s `onread` option does, but Node offers it ' +
  'only for a socket the program constructs (`new net.Socket({onread})`), not for the sockets a ' +
  '`net.Server` accepts: through Node\'s public API every request of tideloop\'s server does ' +
  'what Node\'s echo does for it (the read into a new Buffer, its stream, the write) and its own ' +
  'work on top, so the server cannot reach the echo this way. Measured on the server alone ' +
  '(strace, /usr/bin/time and perf, 50,000-200,000 requests, ad hoc): the same system calls per ' +
  'request as Node\'s echo (one read, one write), and about twice its user-space CPU time per ' +
  'request, spread over Node\'s stream machinery (paused mode), the host\'s JS and wasm with no ' +
  'single hot spot; an earlier stop found flowing mode no faster. For 200,000 requests (two runs ' +
  'each, /usr/bin/time, ad hoc) tideloop\'s server used 1.13-1.22 s of user time and 1.37-1.49 s of ' +
  'system time, Node\'s 0.58-0.64 and 1.24-1.42: about 2.8 us of user time a request more, where ' +
  'the host operation each wait for input is (its record, start, settle, the ring and the tick\'s ' +
  'bookkeeping) has JS functions that take about 1.5% of the server\'s samples under perf (their ' +
  'own time; `node --perf-prof`, 200,000 requests, where the kernel has about half), so removing it ' +
  'would not close the gap: the gap is the rest of tideloop\'s work per request (the tick, the ' +
  'task\'s step, the copies between Node\'s buffers and linear memory, the crossings), each a small ' +
  'part of it.';

function chains(k) {
  const count = String(k);
  return {
    id: `W1-${k}`,
    title: `W1: ${k === 1 ? 'one chain' : `${k} chains`} of callbacks, each scheduling the next`,
    unit: 'ns/callback',
    n: M,
    smokeN: 2000,
    notes: 'tideloop: `tide_call_soon` from inside the callback (a pooled record, the ready queue, one ' +
      'tick per snapshot, a poll every 1024 callbacks). Floor: a ring buffer of (function, argument) and ' +
      'an indirect call, nothing else. libev: `ev_feed_event` on an unstarted watcher, which libev runs in ' +
      'the same `ev_invoke_pending` pass, last fed first (so its chains run one after another). libuv has ' +
      'no call_soon: each chain is a `uv_idle_t` that stays active, so its callback runs once per loop ' +
      'iteration, and each iteration polls epoll with a zero timeout (with 1000 chains, one poll serves ' +
      '1000 callbacks). Node: `Promise.resolve().then(next)` (microtasks) and `setImmediate(next)` (one ' +
      'per event-loop turn). asyncio and uvloop: `loop.call_soon(next)`.',
    runs: [
      { id: 'tide-native', label: 'tideloop native (call_soon)', group: TIDE,
        argv: (n) => native('w1_chains', count, n) },
      { id: 'floor', label: 'floor: C ring buffer + indirect call', group: C_PEERS,
        argv: (n) => native('floor_chains', count, n) },
      { id: 'libev', label: 'libev ev_feed_event', group: C_PEERS,
        argv: (n) => native('libev_chains', count, n) },
      { id: 'libuv', label: 'libuv uv_idle (one handle per chain)', group: C_PEERS,
        argv: (n) => native('libuv_chains', count, n) },
      { id: 'asyncio', label: 'asyncio call_soon', group: ASYNCIO, n: 200000,
        argv: (n) => python('py_chains.py', 'asyncio', count, n) },
      { id: 'uvloop', label: 'uvloop call_soon', group: UVLOOP, n: 200000,
        argv: (n) => python('py_chains.py', 'uvloop', count, n) },
      { id: 'tide-wasi', label: 'tideloop WASI (Node)', group: TIDE,
        argv: (n) => wasi('w1_chains', count, n) },
      { id: 'tide-js', label: 'tideloop JS host (Node)', group: TIDE,
        argv: (n) => jsHost('w1_chains', count, n) },
      { id: 'node-promise', label: 'Node Promise.resolve().then', group: NODE,
        argv: (n) => nodePeer('peers/node_chains.mjs', 'promise', count, n) },
      /* One setImmediate per Node event-loop iteration: ~2-3 us each with one chain. */
      { id: 'node-immediate', label: 'Node setImmediate', group: NODE, n: k === 1 ? 200000 : M,
        argv: (n) => nodePeer('peers/node_chains.mjs', 'immediate', count, n) },
    ],
    ratios: [
      ['tide-native', 'floor'], ['tide-native', 'libev'], ['tide-native', 'libuv'],
      ['tide-js', 'node-promise'], ['tide-js', 'node-immediate'],
      ['tide-wasi', 'tide-native'], ['tide-js', 'tide-native'],
      ['tide-native', 'asyncio'], ['tide-native', 'uvloop'],
    ],
    targets: [
      { text: 'native within 1.5x of the floor', ratio: ['tide-native', 'floor'], max: 1.5 },
      { text: 'native faster than libev', ratio: ['tide-native', 'libev'], max: 1 },
      { text: 'native faster than libuv', ratio: ['tide-native', 'libuv'], max: 1 },
      { text: "JS host at least 3x faster than Node's promise.then chain",
        ratio: ['tide-js', 'node-promise'], max: 1 / 3 },
    ],
    profile: [{ argv: native('w1_chains', count, '200000'), ops: 200000 }],
    left: W1_LEFT,
    expect: (r, n) => r.ops === n && r.check === n,
  };
}

const W2 = {
  id: 'W2',
  left: W2_LEFT,
  title: 'W2: N timer starts (1..8 ms), N/2 cancels, N/2 fires',
  unit: 'ns/op',
  n: M,
  smokeN: 1000,
  notes: 'ns/op = total time / (N starts + N/2 cancels + N/2 fires); the columns split it by phase ' +
    '(ns per start, per cancel, per fire). Timeouts are 1..8 ms from the same pseudo-random sequence in ' +
    'every program, so by the time a million starts are done every timer is due and the fire phase ' +
    'measures work, not waiting. tideloop runs twice: `tide_timer` handles in caller storage (as libev and ' +
    'libuv timers), and `tide_call_later` (pooled records, as asyncio\'s `call_later` and Node\'s ' +
    '`setTimeout`). bytes/timer: `sizeof` of the caller-storage timer (tide_timer, ev_timer, uv_timer_t; ' +
    'the floor: its struct and heap slot), or the bytes the loop\'s allocator handed out per timer ' +
    '(tide_call_later: the record pool). RSS delta/timer: growth of resident memory (linear memory in ' +
    'wasm) over the starts, the only measure for Node and Python. How the peers keep timers: the ' +
    'floor, an array binary heap with the index in each timer; libev, a 4-ary heap in an array with ' +
    'each deadline cached next to its pointer (the design tideloop\'s heap follows: an array of ' +
    '{deadline, seq, entry} slots, each entry holding its index); libuv, a binary heap of pointers ' +
    'linked through the timers; Node, one list per distinct duration ' +
    '(here 8), so its starts and fires are O(1); asyncio, a heapq of handles, cancelled ones removed ' +
    'lazily.',
  runs: [
    { id: 'tide-native', label: 'tideloop native, tide_timer', group: TIDE,
      argv: (n) => native('w2_timers', 'handle', n) },
    { id: 'floor', label: 'floor: array binary heap', group: C_PEERS,
      argv: (n) => native('floor_timers', n) },
    { id: 'libev', label: 'libev ev_timer', group: C_PEERS, argv: (n) => native('libev_timers', 'churn', n) },
    { id: 'libuv', label: 'libuv uv_timer_t', group: C_PEERS, argv: (n) => native('libuv_timers', 'churn', n) },
    { id: 'tide-native-call', label: 'tideloop native, tide_call_later', group: TIDE,
      argv: (n) => native('w2_timers', 'call', n) },
    { id: 'node', label: 'Node setTimeout', group: NODE, argv: (n) => nodePeer('peers/node_timers.mjs', n) },
    { id: 'asyncio', label: 'asyncio call_later', group: ASYNCIO, n: 200000,
      argv: (n) => python('py_timers.py', 'asyncio', n) },
    { id: 'uvloop', label: 'uvloop call_later', group: UVLOOP, n: 200000,
      argv: (n) => python('py_timers.py', 'uvloop', n) },
    { id: 'tide-wasi', label: 'tideloop WASI (Node), tide_timer', group: TIDE,
      argv: (n) => wasi('w2_timers', 'handle', n) },
    { id: 'tide-js', label: 'tideloop JS host (Node), tide_timer', group: TIDE,
      argv: (n) => jsHost('w2_timers', 'handle', n) },
  ],
  extras: [
    ['start_ns', 'start ns', (r) => r.start_ns / (r.ops / 2)],
    ['cancel_ns', 'cancel ns', (r) => r.cancel_ns / (r.ops / 4)],
    ['fire_ns', 'fire ns', (r) => r.fire_ns / (r.ops / 4)],
    ['bytes', 'bytes/timer', (r) => (r.counted ? r.bytes_per_timer : undefined)],
    ['mem', 'RSS delta/timer', (r) => r.mem_per_timer],
  ],
  ratios: [
    ['tide-native', 'floor'], ['tide-native', 'libev'], ['tide-native', 'libuv'],
    ['tide-native-call', 'node'], ['tide-native-call', 'asyncio'], ['tide-native-call', 'uvloop'],
    ['tide-wasi', 'tide-native'], ['tide-js', 'tide-native'],
  ],
  targets: [
    { text: 'at most 200 ns/op natively (tide_timer)', value: 'tide-native', max: 200 },
    { text: 'at most 200 ns/op natively (tide_call_later)', value: 'tide-native-call', max: 200 },
    { text: 'at most 48 bytes/timer (tide_timer)', extra: ['tide-native', 'bytes'], max: 48 },
    { text: 'at most 48 bytes/timer (tide_call_later)', extra: ['tide-native-call', 'bytes'], max: 48 },
    { text: 'WASI within 1.3x of native', ratio: ['tide-wasi', 'tide-native'], max: 1.3 },
    { text: 'JS host within 1.3x of native', ratio: ['tide-js', 'tide-native'], max: 1.3 },
  ],
  profile: [
    { label: 'tide_timer', argv: native('w2_timers', 'handle', '100000'), ops: 200000 },
    { label: 'tide_call_later', argv: native('w2_timers', 'call', '100000'), ops: 200000 },
  ],
  expect: (r, n) => r.ops === 2 * (n & ~1) && r.check === (n & ~1) / 2,
};

const W3_DONE = {
  id: 'W3-done',
  title: 'W3: await an already completed future',
  unit: 'ns/await',
  n: 10 * M,
  smokeN: 1000,
  notes: 'A task awaits a future that completed before it started. tideloop and asyncio do not suspend ' +
    'then (TIDE_AWAIT checks the state; a done asyncio Future returns from `__await__` at once), so this ' +
    'is the price of the check. In Node every `await` suspends, even on a resolved promise, and resumes ' +
    'from the microtask queue: Node\'s figure is a real switch.',
  runs: [
    { id: 'tide-native', label: 'tideloop native (TIDE_AWAIT)', group: TIDE,
      argv: (n) => native('w3_switch', 'done', n) },
    { id: 'asyncio', label: 'asyncio await (done future)', group: ASYNCIO, n: M,
      argv: (n) => python('py_switch.py', 'asyncio', 'done', n) },
    { id: 'uvloop', label: 'uvloop await (done future)', group: UVLOOP, n: M,
      argv: (n) => python('py_switch.py', 'uvloop', 'done', n) },
    { id: 'tide-js', label: 'tideloop JS host (Node)', group: TIDE, argv: (n) => jsHost('w3_switch', 'done', n) },
    { id: 'node', label: 'Node await (resolved promise)', group: NODE, n: M,
      argv: (n) => nodePeer('peers/node_switch.mjs', 'done', n) },
    { id: 'tide-wasi', label: 'tideloop WASI (Node)', group: TIDE, argv: (n) => wasi('w3_switch', 'done', n) },
  ],
  ratios: [
    ['tide-native', 'node'], ['tide-native', 'asyncio'], ['tide-native', 'uvloop'],
    ['tide-js', 'node'], ['tide-wasi', 'tide-native'], ['tide-js', 'tide-native'],
  ],
  targets: [
    { text: 'at most 15 ns natively', value: 'tide-native', max: 15 },
    { text: 'at most 30 ns in wasm (WASI)', value: 'tide-wasi', max: 30 },
    { text: 'at most 30 ns in wasm (JS host)', value: 'tide-js', max: 30 },
  ],
  profile: [{ argv: native('w3_switch', 'done', '1000000'), ops: 1000000 }],
  expect: (r, n) => r.ops === n && r.check === n,
};

const W3_YIELD = {
  id: 'W3-yield',
  left: W3_LEFT,
  title: 'W3: yield to the loop (two tasks taking turns; ns per switch)',
  unit: 'ns/switch',
  n: M,
  smokeN: 1000,
  notes: 'Two tasks each yield N times (`TIDE_YIELD`: back to the end of the ready queue; the other task ' +
    'runs in between), ns per yield of either. asyncio and uvloop: `await asyncio.sleep(0)`. Node has no ' +
    'yield to the loop short of a macrotask: `await null` switches through the microtask queue (never ' +
    'letting I/O in), `await` of a setImmediate promise goes round the event loop.',
  runs: [
    { id: 'tide-native', label: 'tideloop native (TIDE_YIELD)', group: TIDE,
      argv: (n) => native('w3_switch', 'yield', n) },
    { id: 'asyncio', label: 'asyncio sleep(0)', group: ASYNCIO, n: 100000,
      argv: (n) => python('py_switch.py', 'asyncio', 'yield', n) },
    { id: 'uvloop', label: 'uvloop sleep(0)', group: UVLOOP, n: 100000,
      argv: (n) => python('py_switch.py', 'uvloop', 'yield', n) },
    { id: 'tide-js', label: 'tideloop JS host (Node)', group: TIDE, argv: (n) => jsHost('w3_switch', 'yield', n) },
    { id: 'node', label: 'Node await null (microtask)', group: NODE,
      argv: (n) => nodePeer('peers/node_switch.mjs', 'yield', n) },
    { id: 'node-immediate', label: 'Node await setImmediate', group: NODE, n: 100000,
      argv: (n) => nodePeer('peers/node_switch.mjs', 'immediate', n) },
    { id: 'tide-wasi', label: 'tideloop WASI (Node)', group: TIDE, argv: (n) => wasi('w3_switch', 'yield', n) },
  ],
  ratios: [
    ['tide-native', 'node'], ['tide-native', 'asyncio'], ['tide-native', 'uvloop'],
    ['tide-js', 'node'], ['tide-js', 'node-immediate'],
    ['tide-wasi', 'tide-native'], ['tide-js', 'tide-native'],
  ],
  targets: [
    { text: 'at most 15 ns natively', value: 'tide-native', max: 15 },
    { text: 'at most 30 ns in wasm (WASI)', value: 'tide-wasi', max: 30 },
    { text: 'at most 30 ns in wasm (JS host)', value: 'tide-js', max: 30 },
  ],
  profile: [{ argv: native('w3_switch', 'yield', '200000'), ops: 400000 }],
  expect: (r, n) => r.ops === 2 * n && r.check === n,
};

const W4 = {
  id: 'W4',
  title: 'W4: N concurrent tasks each sleeping 10 ms (ns per task = total time / N)',
  unit: 'ns/task',
  n: M,
  smokeN: 1000,
  notes: 'All N are started at once and each sleeps 10 ms; the clock runs from the first start to the ' +
    'last end, so the total is at least 10 ms and ns/task is that total over N. tideloop: detached tasks ' +
    '(`tide_task_spawn`, `TIDE_SLEEP`). libev and libuv have no tasks: N timers in one array, the ' +
    'closest thing. bytes/task: the most the loop\'s allocator held at once over N (native; on the JS ' +
    'host, linear memory growth); allocs/task: allocator calls per task. RSS delta/task: resident memory ' +
    'growth once all are started (Node, Python: the only measure).',
  runs: [
    { id: 'tide-native', label: 'tideloop native (tasks, TIDE_SLEEP)', group: TIDE,
      argv: (n) => native('w4_sleepers', n) },
    /* Scale (issue 16): the same program at 10x and 1/10 of N, for bytes per
     * task at each N and whether memory stays bounded. */
    { id: 'tide-native-10x', label: 'tideloop native, 10x N', group: TIDE, n: 10 * M,
      argv: (n) => native('w4_sleepers', n) },
    { id: 'tide-native-tenth', label: 'tideloop native, N / 10', group: TIDE, n: M / 10,
      argv: (n) => native('w4_sleepers', n) },
    { id: 'libev', label: 'libev ev_timer (not tasks)', group: C_PEERS,
      argv: (n) => native('libev_timers', 'sleep', n) },
    { id: 'libuv', label: 'libuv uv_timer_t (not tasks)', group: C_PEERS,
      argv: (n) => native('libuv_timers', 'sleep', n) },
    { id: 'asyncio', label: 'asyncio tasks', group: ASYNCIO, n: 50000,
      argv: (n) => python('py_sleepers.py', 'asyncio', n) },
    { id: 'uvloop', label: 'uvloop tasks', group: UVLOOP, n: 50000,
      argv: (n) => python('py_sleepers.py', 'uvloop', n) },
    { id: 'tide-js', label: 'tideloop JS host (Node)', group: TIDE, argv: (n) => jsHost('w4_sleepers', n) },
    /* A million promise-based sleepers take Node ~14 s and 0.9 GB here. */
    { id: 'node', label: 'Node async functions', group: NODE, n: 100000,
      argv: (n) => nodePeer('peers/node_sleepers.mjs', n) },
    { id: 'tide-wasi', label: 'tideloop WASI (Node)', group: TIDE, argv: (n) => wasi('w4_sleepers', n) },
  ],
  extras: [
    ['total_ms', 'total ms', (r) => r.ns / 1e6],
    ['bytes', 'bytes/task (allocator)', (r) => (r.counted ? r.bytes_per_task : undefined)],
    ['frame', 'frame bytes', (r) => r.frame_bytes],
    ['allocs', 'allocs/task', (r) => (r.counted ? r.allocs_per_task : undefined)],
    ['mem', 'RSS delta/task', (r) => r.mem_per_task],
  ],
  ratios: [
    ['tide-native', 'libev'], ['tide-native', 'libuv'],
    ['tide-js', 'node'], ['tide-native', 'asyncio'], ['tide-native', 'uvloop'],
    ['tide-wasi', 'tide-native'], ['tide-js', 'tide-native'],
  ],
  targets: [
    { text: "native faster than libev's 1M timers", ratio: ['tide-native', 'libev'], max: 1 },
    { text: 'at most 128 bytes per task plus its frame (native)', extra: ['tide-native', 'bytes'],
      max: (m) => 128 + (m.extra['tide-native']?.frame ?? 0) },
  ],
  profile: [{ argv: native('w4_sleepers', '100000'), ops: 100000 }],
  left: W4_LEFT,
  expect: (r, n) => r.ops === n && r.check === n,
};

/* node's flags that compile all of a module's wasm with TurboFan up front
 * (no Liftoff baseline, no lazy compilation), inserted after `node`. */
const eagerWasm = (argv) => [argv[0], '--no-liftoff', '--no-wasm-lazy-compilation', ...argv.slice(1)];

const W5 = {
  id: 'W5',
  title: 'W5: a C task awaits a JS Promise (async (x) => x + 1), round trip',
  unit: 'ns/round trip',
  n: 20000,
  smokeN: 100,
  notes: 'Every variant awaits the same JS function, `async (x) => x + 1`, N times in a row and checks ' +
    'each answer. tideloop: a C task calls `tide_host_call("ping")` and `TIDE_AWAIT`s its future; the ' +
    'JS host starts the function, and when its promise resolves runs the tick that takes the ' +
    'completion to C and resumes the task (tide_js_tick_settle), from the promise reaction itself while ' +
    'the round trip is the only work in flight, while the 4 ms time slice lasts, after which a ' +
    'macrotask lets timers, I/O and rendering in (js/src/scheduler.mjs). ' +
    'Pure JS: `await ping(i)` in a loop. ' +
    'ASYNCIFY: a plain C loop over an `EM_ASYNC_JS` function (emcc -O2 -sASYNCIFY), which unwinds and ' +
    'rewinds the C stack each time. Hand-written callback: C calls an import, JS calls an export from ' +
    'the promise\'s then(): no runtime on either side. At N = 20,000 most of the JS host\'s time is the ' +
    'JIT\'s warm-up (bench/js/w5-instructions.sh counts the round trip before and after V8 optimises ' +
    'it); the 1M runs show the ' +
    'steady state of the same programs. The two rows with V8 flags run tideloop and its bare driver ' +
    'with every wasm function compiled by TurboFan before the run (`node --no-liftoff ' +
    '--no-wasm-lazy-compilation`), which no page or package can ask for: their ratios are what ' +
    'tiering the wasm up during the run costs.',
  runs: [
    { id: 'tide-js', label: 'tideloop JS host: tide_host_call + TIDE_AWAIT', group: TIDE,
      argv: (n) => jsHost('w5_roundtrip', n) },
    { id: 'pure-js', label: 'pure JS: await in an async function', group: NODE,
      argv: (n) => nodePeer('js/w5-js.mjs', n) },
    { id: 'asyncify', label: 'Emscripten ASYNCIFY (EM_ASYNC_JS)', group: EMCC,
      argv: (n) => ['node', emcc('w5_asyncify.js'), n] },
    { id: 'callback', label: 'hand-written callback (no runtime)', group: EMCC,
      argv: (n) => nodePeer('js/w5-callback.mjs', emcc('w5_callback.wasm'), n) },
    /* Steady state: 20,000 round trips are mostly the JIT's warm-up (the JS
     * host's path runs ~10 us unoptimised, ~0.5 us once TurboFan has it), so
     * the programs also run 1M round trips, where warm-up is a few percent.
     * Both are reported; the targets stay on N. */
    { id: 'tide-js-1m', label: 'tideloop JS host, 1M round trips (steady state)', group: TIDE, n: M,
      argv: (n) => jsHost('w5_roundtrip', n) },
    { id: 'pure-js-1m', label: 'pure JS, 1M awaits (steady state)', group: NODE, n: M,
      argv: (n) => nodePeer('js/w5-js.mjs', n) },
    { id: 'asyncify-1m', label: 'ASYNCIFY, 1M round trips (steady state)', group: EMCC, n: M,
      argv: (n) => ['node', emcc('w5_asyncify.js'), n] },
    { id: 'callback-1m', label: 'hand-written callback, 1M round trips (steady state)', group: EMCC, n: M,
      argv: (n) => nodePeer('js/w5-callback.mjs', emcc('w5_callback.wasm'), n) },
    /* Not a way to run tideloop: the same wasm under the least JS that can
     * drive it (js/w5-bare.mjs), so that tideloop's time splits into its C
     * side with the boundary (this) and the JS host's own work (the rest). */
    { id: 'bare', label: 'tideloop\'s wasm, bare driver (no runtime; not usable as one)', group: TIDE,
      argv: (n) => jsHostScript('js/w5-bare.mjs', W5_WASM, n) },
    { id: 'bare-1m', label: 'bare driver, 1M round trips (steady state)', group: TIDE, n: M,
      argv: (n) => jsHostScript('js/w5-bare.mjs', W5_WASM, n) },
    /* The wasm's share of the warm-up: the same two programs with V8 told to
     * compile every wasm function with TurboFan when the module is compiled,
     * before the run, instead of Liftoff first and TurboFan for the hot ones
     * while it runs. A flag no page and no npm package can set: it measures,
     * it is not a way to run. */
    { id: 'tide-js-eager', label: 'tideloop JS host, its wasm compiled by TurboFan beforehand (V8 flags)',
      group: TIDE, argv: (n) => eagerWasm(jsHost('w5_roundtrip', n)) },
    { id: 'bare-eager', label: 'bare driver, its wasm compiled by TurboFan beforehand (V8 flags)',
      group: TIDE, argv: (n) => eagerWasm(jsHostScript('js/w5-bare.mjs', W5_WASM, n)) },
  ],
  ratios: [['tide-js', 'pure-js'], ['tide-js', 'asyncify'], ['tide-js', 'callback'],
    ['tide-js-1m', 'pure-js-1m'], ['tide-js-1m', 'asyncify-1m'], ['tide-js-1m', 'callback-1m'],
    /* Where the floor of a callback design lies against the target (see W5_LEFT). */
    ['callback', 'pure-js'],
    /* What the JS host's own work costs: tideloop over its bare driver. */
    ['tide-js', 'bare'], ['bare', 'pure-js'], ['tide-js-1m', 'bare-1m'], ['bare-1m', 'pure-js-1m'],
    /* What tiering the wasm up during the run costs at N (below 1: that much is left without it). */
    ['tide-js-eager', 'tide-js'], ['bare-eager', 'bare']],
  targets: [
    { text: 'at most 2x a pure JS await', ratio: ['tide-js', 'pure-js'], max: 2 },
    { text: 'at least 3x faster than ASYNCIFY', ratio: ['tide-js', 'asyncify'], max: 1 / 3 },
    { text: 'faster than ASYNCIFY (issue 13)', ratio: ['tide-js', 'asyncify'], max: 1 },
  ],
  /* The floors under "at most 2x a pure JS await": no runtime at all (the
   * floor of the ABI), and tideloop's C side under the least JS (W5_LEFT). */
  headline: [
    ['callback', 'pure-js', 'floor: the ABI with no runtime (see W5)'],
    ['bare', 'pure-js', 'floor: tideloop\'s C side with no host JS (see W5)'],
  ],
  jsProfile: { argv: jsHost('w5_roundtrip', '20000'), ops: 20000 },
  /* Programs that read W5 rather than measure it for RESULTS.md: the warm-up
   * curve (js/w5-warmup.mjs, in blocks of N / 2). Only the smoke runs them,
   * so that they keep working. */
  tools: [
    { id: 'warmup', group: TIDE, argv: (n) => jsHostScript('js/w5-warmup.mjs', n, n / 2) },
    { id: 'warmup-js', group: NODE, argv: (n) => nodePeer('js/w5-warmup.mjs', '--js', n, n / 2) },
  ],
  toolExpect: (r, n) => r.ops === n && r.check === n && r.us_per_trip?.length === 2,
  left: W5_LEFT,
  expect: (r, n) => r.ops === n && r.check === n,
};

/* W6: every server is started the same way (`... server 127.0.0.1 0`, one
 * "listening on" line) by driver/echo-pair.mjs, which runs the one client
 * against it and stops it with SIGTERM. */
const W6_CONNS = 50;
const W6_SIZE = 64;
const echoServer = (server, ...options) => (n) => echoPair(
  [...server, 'server', '127.0.0.1', '0', ...options],
  /* The client's own deadline: within the driver's 30 s (smoke) and 120 s
   * (rounds) per run, with echo-pair's start (10 s) and stop (5 s) bounds. */
  native('echo_client', '{port}', n, W6_CONNS, W6_SIZE, n <= 10000 ? 10 : 90));

const W6 = {
  id: 'W6',
  title: `W6: TCP echo, ${W6_CONNS} connections of ${W6_SIZE}-byte ping-pong (one client for all)`,
  unit: 'ns/request',
  rate: { key: 'rps', title: 'requests/s' },
  n: 100000,
  smokeN: 500,
  notes: [
    'One load generator for every server (`bench/peers/echo_client.c`: plain C on epoll, no tideloop):',
    `${W6_CONNS} connections to 127.0.0.1, each sending a ${W6_SIZE}-byte message, waiting for all of it`,
    'to come back, checking it byte for byte (messages differ per connection and per request), and',
    'sending the next, until N requests in all were answered. Its clock runs from the first request to',
    'the last answer (the connects are set-up); requests/s = N / that time, and ns/request its inverse',
    `(the time the whole system takes per request, not one request's latency: ${W6_CONNS} are in flight).`,
    'Any mismatch, extra byte, early close or timeout fails the run. The servers: tideloop\'s is the',
    "project's example, `examples/echo.c`, unchanged, natively and on the JS host (the same source as a",
    "module run by `js/bin/tideloop-run.mjs`, its sockets Node's `net` underneath); libuv's is the",
    'idiomatic `uv_listen`/`uv_read_start`/`uv_write` echo (`bench/peers/libuv_echo.c`, a malloc\'d',
    "buffer per read, freed by the write's callback); Node's is `net.createServer` with",
    '`socket.on("data", (d) => socket.write(d))` (`bench/peers/node_echo.mjs`). All set TCP_NODELAY.',
    'The driver (`bench/driver/echo-pair.mjs`) starts a server on port 0, reads the port from its one',
    'line `listening on 127.0.0.1:PORT`, runs the client, then stops the server with SIGTERM and waits',
    'for it. **Neither process is pinned to a core**: on this 2-core machine the client and the server',
    "share both cores with each other (and with the machine's other load), so the client's own cost is",
    'in every figure, the same for every server; only the in-round ratios compare servers. The ratios',
    "below are of requests/s (tideloop's over the peer's in each round, then the median): above 1,",
    'tideloop serves more.',
    'The 2-thread rows run the same servers with `--threads 2`: two loops, each on its own thread with',
    'its own listener on the one port (SO_REUSEPORT: `tide_tcp_listen_ex` with `TIDE_TCP_REUSEPORT`;',
    "libuv: a uv loop per thread, SO_REUSEPORT set on the socket before `uv_tcp_bind`); the kernel",
    'spreads the 50 connections between them. With one client process on a 2-core machine, the two',
    'server threads and the client compete for the same two cores, so the 2-thread/1-thread ratio is',
    'what this machine allows, not what two free cores would give (bench/README.md).',
  ].join(' '),
  runs: [
    { id: 'tide-native', label: 'tideloop native (examples/echo.c)', group: ECHO_TIDE,
      argv: echoServer(native('echo')) },
    { id: 'libuv', label: 'libuv echo (uv_read_start + uv_write)', group: ECHO_LIBUV,
      argv: echoServer(native('libuv_echo')) },
    { id: 'tide-native-2t', label: 'tideloop native, 2 threads (echo.c --threads 2)', group: ECHO_TIDE,
      argv: echoServer(native('echo'), '--threads', '2') },
    { id: 'libuv-2t', label: 'libuv echo, 2 threads (a uv loop per thread)', group: ECHO_LIBUV,
      argv: echoServer(native('libuv_echo'), '--threads', '2') },
    { id: 'tide-js', label: 'tideloop JS host (examples/echo.c, Node)', group: ECHO_TIDE_JS,
      argv: echoServer(jsCommand('echo')) },
    { id: 'node', label: 'Node net echo', group: ECHO_NODE,
      argv: echoServer(nodePeer('peers/node_echo.mjs')) },
  ],
  extras: [['rps', 'requests/s', (r) => (r.ops * 1e9) / r.ns]],
  ratios: [
    ['tide-native', 'libuv'], ['tide-native-2t', 'libuv-2t'], ['tide-native-2t', 'tide-native'],
    ['libuv-2t', 'libuv'], ['tide-js', 'node'], ['tide-js', 'tide-native'],
  ],
  /* Ratios of requests/s: issue 16 (native) and issue 13 (JS host). */
  targets: [
    { text: "native at least 1.2x libuv's requests/s", ratio: ['tide-native', 'libuv'], min: 1.2 },
    { text: "JS host at least Node's net echo", ratio: ['tide-js', 'node'], min: 1 },
  ],
  left: W6_LEFT,
  /* Compared, with no figure set: shown in the targets table without a
   * verdict. */
  headline: [['tide-native-2t', 'libuv-2t'], ['tide-native-2t', 'tide-native']],
  expect: (r, n) => r.ops === n && r.check === n && r.bytes === n * W6_SIZE,
};

/* W8 (issue 15): subprocesses. Every program takes `N K`; the child is
 * /bin/true (an absolute path: no PATH search anywhere). */
const W8_K = 8;
const W8 = {
  id: 'W8',
  title: `W8: spawn-and-wait of /bin/true, ${W8_K} at a time (ns per child = total time / N)`,
  unit: 'ns/child',
  n: 1000,
  smokeN: 16,
  notes: [
    `N children of \`/bin/true\` in all, at most ${W8_K} running at once: each of ${W8_K} slots starts a`,
    'child, awaits its exit, checks that it exited 0, and starts the next, so a new child starts as soon',
    'as one is reaped. The clock runs from the first spawn to the last exit seen; ns per child is that',
    'over N (with 8 in flight, not one spawn\'s latency). All three standard streams of every child are',
    '/dev/null in every program, so all do the same work. tideloop (`bench/c/w8_spawn.c`): one task per',
    'slot, `tide_process_spawn` (every stdio `TIDE_STDIO_NULL`), `tide_process_wait`,',
    '`tide_process_release`; natively posix_spawn (glibc: a vfork-style clone) with the exit seen through',
    'a pidfd watched by epoll; on the JS host the same module calls node:child_process. libuv',
    '(`bench/peers/libuv_spawn.c`): `uv_spawn` with `UV_IGNORE` streams (libuv opens /dev/null in the',
    'child), the slot\'s next spawn from the close callback of the exited handle; libuv (1.44, and',
    "Node 20's) calls plain fork(), which copies the parent's page tables, waits on a pipe for the exec,",
    'and reaps on SIGCHLD. Node (`bench/peers/node_spawn.mjs`): `child_process.spawn` with',
    "`stdio: 'ignore'`, the next spawn on 'exit' (Node's child_process is libuv's uv_spawn underneath).",
    'The machine is shared and a spawn is mostly the kernel\'s and the dynamic loader\'s work, so the',
    'spread between rounds is wide; only the in-round ratios compare loops.',
  ].join(' '),
  runs: [
    { id: 'tide-native', label: 'tideloop native (tide_process_spawn)', group: TIDE,
      argv: (n) => native('w8_spawn', n, W8_K) },
    { id: 'libuv', label: 'libuv uv_spawn', group: C_PEERS, argv: (n) => native('libuv_spawn', n, W8_K) },
    { id: 'tide-js', label: 'tideloop JS host (Node, node:child_process)', group: TIDE,
      argv: (n) => jsHost('w8_spawn', n, W8_K) },
    { id: 'node', label: 'Node child_process.spawn', group: NODE,
      argv: (n) => nodePeer('peers/node_spawn.mjs', n, W8_K) },
  ],
  ratios: [
    ['tide-native', 'libuv'], ['tide-native', 'node'], ['tide-js', 'node'], ['tide-js', 'tide-native'],
  ],
  /* Issue 15 names the comparison but no figure. */
  headline: [['tide-native', 'libuv'], ['tide-native', 'node'], ['tide-js', 'node']],
  profile: [{ argv: native('w8_spawn', '200', String(W8_K)), ops: 200 }],
  expect: (r, n) => r.ops === n && r.check === n,
};

export const WORKLOADS = [chains(1), chains(1000), W2, W3_DONE, W3_YIELD, W4, W5, W6, W8];
export const GROUPS = {
  TIDE, C_PEERS, NODE, ASYNCIO, UVLOOP, EMCC, ECHO_TIDE, ECHO_TIDE_JS, ECHO_LIBUV, ECHO_NODE,
};
