// work.test.mjs: tide_work_submit on the JS host, through
// tests/modules/work-test-module.c. There are no threads here: each job's fn
// runs on the loop, one job per loop callback, in submit order; a job
// cancelled before its turn never runs but its done still runs once; fn's
// error code reaches the future; the pool's size is 0 and cannot be set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { load } from '../../js/src/node.mjs';
import { MODULE as TEST_MODULE } from './helpers.mjs';

const MODULE = process.env.TIDE_JS_BUILD
  ? resolve(process.env.TIDE_JS_BUILD, 'tests', 'modules', 'tide-work-test-module.wasm')
  : join(dirname(TEST_MODULE), 'tide-work-test-module.wasm');

let rt;
const err = [];
before(async () => {
  if (!existsSync(MODULE)) {
    throw new Error(`the work test module is missing: ${MODULE} (build the js config: ` +
      'cmake --build <build> --target tide-work-test-module, or set TIDE_JS_BUILD)');
  }
  rt = await load(MODULE, { stdout: () => {}, stderr: (l) => err.push(l) });
  assert.equal(await rt.main(['work-test-module']), 0);
});
after(() => {
  assert.deepEqual(err, [], 'nothing was reported');
  assert.equal(rt.close(), 0, 'the loop frees cleanly: no job left behind');
});

test('jobs run on the loop in submit order, with their results', async () => {
  assert.equal(await rt.call('work', [5, -1, -1]),
    'order=0,1,2,3,4 results=0,10,20,30,40 done=5 pool=0 resize=ENOSYS');
});

test('a job cancelled before its turn never runs; its done still runs once', async () => {
  assert.equal(await rt.call('work', [4, 1, -1]),
    'order=0,2,3 results=0,ECANCELED,20,30 done=4 pool=0 resize=ENOSYS');
});

test('fn\'s error code completes the future with that error', async () => {
  assert.equal(await rt.call('work', [3, -1, 2]),
    'order=0,1,2 results=0,10,EIO done=3 pool=0 resize=ENOSYS');
});
