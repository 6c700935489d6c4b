// The Vite recipes (js/README.md, "Loading a module with a bundler").
import { load } from 'tideloop';
// A module the package ships: `?url` makes Vite emit the file and give its URL.
import shippedUrl from 'tideloop/wasm/browser-demo.wasm?url';
import { runJob, show } from '../job.js';

show([
  async () => runJob(await load(shippedUrl), 1),
  // Your own module next to your source (here a copy of the same one): Vite
  // emits what `new URL('./relative', import.meta.url)` names.
  async () => runJob(await load(new URL('./own.wasm', import.meta.url)), 2),
]);
