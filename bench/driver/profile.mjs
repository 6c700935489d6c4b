// profile.mjs: where the time goes when a target is missed.
//
// Native: valgrind --tool=callgrind counts the instructions (Ir) each function
// executes: deterministic for a given binary and N (up to how many loop
// iterations the clock lets happen), so unlike a time it can be compared
// between runs and machines. Reported per op: Ir of the function / ops.
// JS host: Node's sampling profiler (--cpu-prof), self time per JS function,
// which is not deterministic, next to the host's own counters (ticks, host
// calls per op), which are.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const TOP = 8;

/** {total, ops, rows: [{fn, ir, perOp, share}]} or {error}. */
export function callgrind(argv, ops) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tide-cg-'));
  const out = path.join(dir, 'callgrind.out');
  try {
    const run = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, ...argv.map(String)],
      { encoding: 'utf8', timeout: 300000 });
    if (run.status !== 0) return { error: `valgrind failed: ${(run.stderr ?? run.error?.message ?? '').slice(-300)}` };
    const ann = spawnSync('callgrind_annotate', [out], { encoding: 'utf8' });
    if (ann.status !== 0) return { error: 'callgrind_annotate failed' };
    const total = Number(/^([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS/m.exec(ann.stdout)?.[1].replace(/,/g, ''));
    const rows = [];
    /* "8,405,154 (29.23%)  ???:tide_loop_run [/path/to/binary]" */
    for (const m of ann.stdout.matchAll(/^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S+?):(\S+)(?: \[(.*)\])?$/gm)) {
      const ir = Number(m[1].replace(/,/g, ''));
      const object = m[5] ? path.basename(m[5]) : '';
      rows.push({ fn: m[4], object, ir, perOp: ir / ops, share: Number(m[2]) });
      if (rows.length === TOP) break;
    }
    return { total, ops, perOp: total / ops, rows, argv: argv.map((a) => path.basename(String(a))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** {rows: [{fn, ms, share}], host, ops} or {error}: Node's CPU profile of argv. */
export function cpuProfile(argv, ops) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tide-prof-'));
  try {
    const [node, ...rest] = argv.map(String);
    const run = spawnSync(node, ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...rest], { encoding: 'utf8', timeout: 300000 });
    if (run.status !== 0) return { error: `profiled run failed: ${(run.stderr ?? '').slice(-300)}` };
    let host;
    for (const line of run.stdout.split('\n')) {
      if (line.startsWith('{"host"')) host = JSON.parse(line).host;
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    const prof = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const self = new Map();
    prof.samples.forEach((id, i) => {
      const f = byId.get(id).callFrame;
      const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
      /* The module is stripped, so its functions have no names: one row. */
      const key = /^wasm-function\[/.test(f.functionName)
        ? '(wasm: tideloop and the C program)'
        : `${f.functionName || '(anonymous)'} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
    });
    const total = [...self.values()].reduce((a, b) => a + b, 0);
    const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP + 2)
      .map(([fn, us]) => ({ fn, ms: us / 1000, share: (100 * us) / total }));
    return { rows, host, ops, totalMs: total / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
