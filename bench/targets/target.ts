// A broker the suite measures: started by the suite (strand, kafka-home) or already
// running (bootstrap).

export interface Target {
  readonly kind: 'strand' | 'bootstrap' | 'kafka-home';
  /** Short unique name used in tables and charts. */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  /** The broker process for /proc figures, when known. */
  readonly pid: number | null;
  readonly version: string;
  /** Broker settings the suite chose (Kafka's names). */
  readonly settings: Record<string, string>;
  /** Where the broker keeps its data, when the suite knows. */
  readonly dataDir: string | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** False once a broker the suite started has exited. */
  isRunning(): boolean;
  /** The end of the broker's own output, for error messages. */
  logTail(): string;
}

/** Parses `key=value` overrides (the value may contain '='). */
export function parseOverrides(overrides: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new Error(`override '${o}' is not key=value`);
    out[o.slice(0, eq).trim()] = o.slice(eq + 1).trim();
  }
  return out;
}

export class BootstrapTarget implements Target {
  readonly kind = 'bootstrap';
  readonly label: string;
  readonly version = 'unknown (running broker)';
  readonly settings: Record<string, string> = {};
  readonly dataDir = null;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly pid: number | null,
  ) {
    this.label = `bootstrap ${host}:${port}`;
  }

  async start(): Promise<void> {
    // Already running: the runner checks that it answers.
  }

  async stop(): Promise<void> {
    // Not ours to stop.
  }

  isRunning(): boolean {
    return true;
  }

  logTail(): string {
    return '';
  }
}
