// A slow disk for the broker child: a preloaded shim that paces pwritev(2) (the engine's
// append) to a given bandwidth, so that a producer can outrun the disk on any machine.
// Built with the C compiler that the native addon's build needs anyway.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const SHIM_SOURCE = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

typedef ssize_t (*pwritev_fn)(int, const struct iovec*, int, off_t);
static pwritev_fn real_pwritev;
static double ns_per_byte = -1;

ssize_t pwritev(int fd, const struct iovec* iov, int n, off_t off) {
  if (!real_pwritev) real_pwritev = (pwritev_fn)dlsym(RTLD_NEXT, "pwritev");
  if (ns_per_byte < 0) {
    const char* s = getenv("SLOW_DISK_BYTES_PER_SEC");
    double bps = s ? atof(s) : 0;
    ns_per_byte = bps > 0 ? 1e9 / bps : 0;
  }
  ssize_t r = real_pwritev(fd, iov, n, off);
  if (r > 0 && ns_per_byte > 0) {
    long long ns = (long long)(r * ns_per_byte);
    struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
    while (nanosleep(&ts, &ts) != 0) {}
  }
  return r;
}
`;

/** Compiles the shim; returns the path of the shared object. Throws when no C compiler runs. */
export function buildSlowDiskShim(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'strand-slow-disk-'));
  const source = path.join(dir, 'slow-disk.c');
  const shared = path.join(dir, 'slow-disk.so');
  writeFileSync(source, SHIM_SOURCE);
  const cc = process.env.CC ?? 'cc';
  const r = spawnSync(cc, ['-shared', '-fPIC', '-O2', '-o', shared, source, '-ldl'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(
      `cannot build the slow-disk shim with ${cc} (the native build needs a C compiler too): ${r.error?.message ?? r.stderr}`,
    );
  }
  return shared;
}

/** The environment that slows the broker's appends to `bytesPerSec`. */
export function slowDiskEnv(shim: string, bytesPerSec: number): Record<string, string> {
  return { LD_PRELOAD: shim, SLOW_DISK_BYTES_PER_SEC: String(bytesPerSec) };
}
