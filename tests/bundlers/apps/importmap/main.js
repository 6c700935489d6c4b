// The plain-page recipe (js/README.md, "Loading a module with a bundler"): the
// import map resolves both `tideloop` and import.meta.resolve('tideloop/...').
import { load } from 'tideloop';
import { runJob, show } from '../job.js';

show([async () => runJob(await load(import.meta.resolve('tideloop/wasm/browser-demo.wasm')), 4)]);
