import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUuid } from '../protocol/index';

const META_FILE = 'meta.properties';

/**
 * The log dir's identity, in Kafka's meta.properties format: the cluster id is made once,
 * on the first start, and kept, so clients see the same cluster across restarts.
 */
export function loadOrCreateClusterId(logDir: string, nodeId: number): string {
  const file = path.join(logDir, META_FILE);
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, 'utf8');
    const m = /^cluster\.id=(.+)$/m.exec(text);
    if (m !== null) {
      const node = /^node\.id=(-?\d+)$/m.exec(text);
      if (node !== null && Number(node[1]) !== nodeId) {
        throw new Error(`${file} belongs to node.id ${node[1]}, but this broker is node.id ${nodeId}`);
      }
      return m[1]!.trim();
    }
  }
  const clusterId = randomUuid();
  const body = `#\n#${new Date().toISOString()}\nversion=1\ncluster.id=${clusterId}\nnode.id=${nodeId}\n`;
  fs.mkdirSync(logDir, { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, body);
  fs.renameSync(tmp, file);
  return clusterId;
}
