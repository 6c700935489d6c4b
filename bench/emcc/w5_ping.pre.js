// w5_ping.pre.js: prepended to w5_asyncify's Emscripten glue (--pre-js): the
// JS function every W5 variant awaits, async (x) => x + 1.
globalThis.benchPing = async (x) => x + 1;
