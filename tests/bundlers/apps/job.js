// job.js: what every app does once it has loaded a module, the same whatever
// bundled it: browser-demo.wasm (shipped in the package as wasm/browser-demo.wasm,
// source examples/browser/demo.c) exports the C coroutine job(id, steps,
// sleep_ms, fetch_ms, crunch), which `steps` times sleeps on a C timer, awaits
// the host function fetch_text(fetch_ms, id) and yields; it returns the bytes
// it got. Here fetch_text answers fetch_ms dots without any network.
export async function runJob(rt, id) {
  const calls = [];
  rt.register('fetch_text', (ms, jobId) => {
    calls.push(jobId);
    return '.'.repeat(ms);
  });
  const setup = await rt.main(['browser-demo']); /* exports job and snapshot */
  if (setup !== 0) throw new Error(`setup exited with ${setup}`);
  const bytes = await rt.call('job', [id, 3, 5, 40, 2]);
  rt.close();
  return `job ${id}: ${bytes} bytes from ${calls.length} calls to fetch_text`;
}

/* Shows each line, or the error, in #out; #out's data-state says when it is over. */
export async function show(steps) {
  const out = document.getElementById('out');
  try {
    for (const step of steps) out.append(`${await step()}\n`);
    out.dataset.state = 'done';
  } catch (e) {
    out.append(`error: ${e?.stack ?? e}\n`);
    out.dataset.state = 'failed';
  }
}
