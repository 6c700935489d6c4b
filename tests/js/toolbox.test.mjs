// toolbox.test.mjs: the asyncio toolbox (task groups, wait_for, queues) in a
// module on the JS host gives the outcome and the order the C tests assert
// natively and under WASI: the same core, driven by the JS event loop.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { loadTest } from './helpers.mjs';

test('task group, wait_for and queue behave on the JS host as natively', async () => {
  const { rt, err } = await loadTest();
  try {
    assert.equal(await rt.call('toolbox'), 'group=bca wait_for=ETIMEDOUT queue=123');
    assert.deepEqual(err, [], 'nothing was reported to the error stream');
  } finally {
    rt.close();
  }
});
