// The esbuild recipe (js/README.md, "Loading a module with a bundler"):
//   esbuild main.js --bundle --format=esm --loader:.wasm=file --outdir=dist
// The file loader copies the .wasm to the output folder and imports its path,
// relative to the bundle: resolve it against import.meta.url.
import { load } from 'tideloop';
import shippedPath from 'tideloop/wasm/browser-demo.wasm';
import { runJob, show } from '../job.js';

show([async () => runJob(await load(new URL(shippedPath, import.meta.url)), 3)]);
