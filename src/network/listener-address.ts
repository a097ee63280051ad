/** One entry of Kafka's `listeners` / `advertised.listeners`: NAME://host:port. */
export interface ListenerAddress {
  name: string;
  host: string;
  port: number;
}

/** Parses a comma-separated listener list (e.g. "PLAINTEXT://127.0.0.1:9092"). */
export function parseListeners(value: string): ListenerAddress[] {
  const out: ListenerAddress[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const m = /^([A-Za-z0-9_]+):\/\/(\[[^\]]*\]|[^:]*):(\d+)$/.exec(entry);
    if (m === null) throw new Error(`invalid listener "${entry}": expected NAME://host:port`);
    const port = Number(m[3]);
    if (port > 65535) throw new Error(`invalid listener "${entry}": port out of range`);
    let host = m[2]!;
    if (host.startsWith('[')) host = host.slice(1, -1);
    out.push({ name: m[1]!.toUpperCase(), host, port });
  }
  if (out.length === 0) throw new Error('no listener configured');
  return out;
}
