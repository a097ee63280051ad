// `npm run bench -- [options] [targets]` and `strand bench`: runs the benchmark suite and
// writes bench/results/bench-<time>.json and .html (see --help, --list).

import { writeRunFiles } from './report/write.js';
import { parseOptions, USAGE } from './options.js';
import { Runner } from './runner.js';
import { defaultScale, describeWorkloads, workloadCatalog } from './workloads.js';

export async function main(argv: string[]): Promise<void> {
  const opts = parseOptions(argv);
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (opts.list) {
    const scale = defaultScale(opts.quick);
    if (opts.catchupBytes !== null) scale.catchupBytes = opts.catchupBytes;
    if (opts.externalBytes !== null) scale.externalBytes = opts.externalBytes;
    process.stdout.write(describeWorkloads(workloadCatalog(scale)));
    return;
  }
  const started = Date.now();
  const run = await new Runner(opts, argv).run();
  const files = writeRunFiles(run, opts.outDir);
  process.stdout.write(`\nwrote ${files.json}\n      ${files.html}\n(${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`strand bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
