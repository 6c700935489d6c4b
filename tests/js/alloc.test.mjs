// alloc.test.mjs: the loop's default allocator on the JS host, through
// tests/modules/alloc-test-module.c: libc's in the default build, the compact
// one (src/backend/small_alloc.c) in the size build, which scripts/test.sh
// runs this suite against too (TIDE_JS_BUILD=build/js-small). Blocks never
// overlap and are 16-byte aligned; freed blocks are reused (an equal churn
// grows memory no more); resizes keep their contents (the timer heap's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { load } from '../../js/src/node.mjs';
import { MODULE as TEST_MODULE } from './helpers.mjs';

const MODULE = process.env.TIDE_JS_BUILD
  ? resolve(process.env.TIDE_JS_BUILD, 'tests', 'modules', 'tide-alloc-test-module.wasm')
  : join(dirname(TEST_MODULE), 'tide-alloc-test-module.wasm');

let rt;
const err = [];
before(async () => {
  if (!existsSync(MODULE)) {
    throw new Error(`the alloc test module is missing: ${MODULE} (build the js config: ` +
      'cmake --build <build> --target tide-alloc-test-module, or set TIDE_JS_BUILD)');
  }
  rt = await load(MODULE, { stdout: () => {}, stderr: (l) => err.push(l) });
  assert.equal(await rt.main(['alloc-test-module']), 0);
});
after(() => {
  assert.deepEqual(err, [], 'nothing was reported');
  assert.equal(rt.close(), 0, 'the loop frees cleanly');
});

test('many allocations and frees: no overlap, 16-byte aligned, freed blocks reused', async () => {
  assert.match(await rt.call('churn', [40000, 1]), /^ok grew=\d+$/);
  /* The same sequence again: every size it asks for was freed by the first. */
  assert.equal(await rt.call('churn', [40000, 1]), 'ok grew=0');
  /* Other sizes in other orders, still without overlap. */
  for (const seed of [2, 3, 4]) assert.match(await rt.call('churn', [20000, seed]), /^ok grew=\d+$/);
});

test('a resized block keeps its contents: 5000 timers (the heap grows past 1024) run in order',
  async () => {
    assert.equal(await rt.call('timers', [5000]), 'ok');
    assert.equal(await rt.call('timers', [3000]), 'ok');
  });

test('a bad argument is an error, not a crash', async () => {
  await assert.rejects(rt.call('churn', ['many']), { code: 'EINVAL' });
  await assert.rejects(rt.call('timers', [0]), { code: 'EINVAL' });
});
