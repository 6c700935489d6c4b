// shared-scenarios.test.mjs: the engine-neutral scenarios of
// tests/shared/scenarios.mjs under Node (the package's node entry). The browser
// suite (tests/browser/scenarios.test.mjs) runs the same bodies in Chromium.
import { test } from 'node:test';
import { load, TideError, errors } from '../../js/src/node.mjs';
import { scenarios } from '../shared/scenarios.mjs';
import { requireModule } from './helpers.mjs';

for (const [name, body] of Object.entries(scenarios)) {
  test(name, () => body({ load, module: requireModule(), TideError, errors }));
}
