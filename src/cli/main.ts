#!/usr/bin/env node
// The `strand` command: `strand start [--config server.properties] [--override key=value]...`
import pino from 'pino';
import { Broker } from '../broker/broker';
import { ConfigError, loadServerConfig } from '../config/index';

const USAGE = `usage: strand start [--config <server.properties>] [--override key=value]...
       strand bench [options]     (see: npm run bench -- --help)`;

interface StartArgs {
  file?: string;
  overrides: string[];
}

function parseStartArgs(argv: string[]): StartArgs {
  const args: StartArgs = { overrides: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = (): string => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      return value;
    };
    if (arg === '--config' || arg === '-c') args.file = next();
    else if (arg.startsWith('--config=')) args.file = arg.slice('--config='.length);
    else if (arg === '--override' || arg === '-o') args.overrides.push(next());
    else if (arg.startsWith('--override=')) args.overrides.push(arg.slice('--override='.length));
    else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

async function start(argv: string[]): Promise<void> {
  const log = pino({ level: process.env['STRAND_LOG_LEVEL'] ?? 'info' });
  const args = parseStartArgs(argv);
  const config = loadServerConfig({ file: args.file, overrides: args.overrides });
  const broker = await Broker.start(config, log);
  let signalled = false;
  const shutdown = (signal: string): void => {
    if (signalled) return;
    signalled = true;
    log.info({ signal }, 'shutting down');
    broker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'start') return start(rest);
  if (command === 'bench') {
    const bench = require('../../bench/main') as { main(argv: string[]): Promise<void> };
    return bench.main(rest);
  }
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`strand: invalid configuration: ${err.message}\n`);
  else process.stderr.write(`strand: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
