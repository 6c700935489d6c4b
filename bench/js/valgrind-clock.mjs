// valgrind-clock.mjs: preloaded (`node --import`) by w5-instructions.sh, so that
// performance.now() runs 100 times slower than the wall clock. Under valgrind
// a program runs some 50 times slower than natively, and the JS host's 4 ms
// time slices (js/src/scheduler.mjs), which follow performance.now(), would
// then end every few dozen round trips instead of every few thousand: each
// run would count a different number of the macrotask yields that end them,
// and the count per round trip would move by several percent between runs of
// one program. Slowed down by about what valgrind costs, the slices end about
// as often as in a real run. Only for counting instructions: timings use the
// real clock.
const SLOWDOWN = 100;
const perf = globalThis.performance;
const realNow = perf.now.bind(perf);
const origin = realNow();
perf.now = () => origin + (realNow() - origin) / SLOWDOWN;
