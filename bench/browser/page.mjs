// page.mjs: the benchmark page's script: the workloads of
// examples/browser/variants.mjs on the modules under /build/bench/, for the
// driver (bench/browser/driver.mjs), which calls window.bench.run().
import { makeVariants, hasJspi } from '/examples/browser/variants.mjs';

const variants = await makeVariants({ base: '/build/bench/' });
window.bench = {
  ready: true,
  engine: {
    userAgent: navigator.userAgent,
    jspi: hasJspi(),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    gc: typeof globalThis.gc === 'function',
  },
  /* The result, or {error} (a thrown check, a trap): the driver counts both. */
  async run(workload, variant, n, opts) {
    globalThis.gc?.(); /* Chromium with --js-flags=--expose-gc: a clean heap first */
    try {
      return await variants.run(workload, variant, n, opts);
    } catch (e) {
      return { error: String(e?.stack ?? e) };
    }
  },
};
document.getElementById('status').textContent = 'ready';
