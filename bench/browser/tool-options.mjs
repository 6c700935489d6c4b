// tool-options.mjs: the command line of the browser tools (v8-flags-probe.mjs,
// gecko-profile.mjs): `--name value` pairs over their defaults, a number
// where the default is one; anything else prints the usage and exits 2.
export function parseOptions(argv, defaults, usage) {
  const opt = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !(key in opt) || i + 1 >= argv.length) {
      console.error(`usage: ${usage}`);
      process.exit(2);
    }
    opt[key] = typeof defaults[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return opt;
}
