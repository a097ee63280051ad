// Inline SVG charts for the HTML report, drawn by hand so the report needs no library and
// no network: grouped horizontal bars with min-max whiskers, and percentile curves on a
// "nines" axis (90, 99, 99.9 ... equally spaced) with a logarithmic latency axis.

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export const PALETTE = ['#2f6db5', '#d9822b', '#3a9a5b', '#b8433a', '#7b5ea7', '#8c6d31', '#c45ca2', '#5b6770'];

export interface BarSeriesValue {
  series: string;
  value: number;
  min: number;
  max: number;
  label: string;
}

export interface BarGroup {
  group: string;
  bars: BarSeriesValue[];
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Horizontal grouped bars (one group per workload phase, one bar per target), with whiskers. */
export function barChart(title: string, unit: string, groups: readonly BarGroup[], seriesOrder: readonly string[]): string {
  const labelWidth = 260;
  const plotWidth = 520;
  const barHeight = 14;
  const gap = 10;
  const top = 24 + Math.ceil(seriesOrder.length / 2) * 16;
  const colorOf = (s: string): string => PALETTE[Math.max(0, seriesOrder.indexOf(s)) % PALETTE.length]!;
  const maxValue = niceMax(Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => Math.max(b.value, b.max)))));
  let y = top;
  const parts: string[] = [];
  for (const g of groups) {
    const groupHeight = g.bars.length * barHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + groupHeight / 2 + 4}" text-anchor="end" class="label">${escapeXml(g.group)}</text>`);
    g.bars.forEach((b, i) => {
      const by = y + i * barHeight;
      const w = (b.value / maxValue) * plotWidth;
      parts.push(`<rect x="${labelWidth}" y="${by + 1}" width="${w.toFixed(1)}" height="${barHeight - 2}" fill="${colorOf(b.series)}"><title>${escapeXml(`${b.series}: ${b.label}`)}</title></rect>`);
      if (b.max > b.min) {
        const x1 = labelWidth + (b.min / maxValue) * plotWidth;
        const x2 = labelWidth + (b.max / maxValue) * plotWidth;
        const cy = by + barHeight / 2;
        parts.push(`<path d="M${x1.toFixed(1)} ${cy}H${x2.toFixed(1)}M${x1.toFixed(1)} ${cy - 4}V${cy + 4}M${x2.toFixed(1)} ${cy - 4}V${cy + 4}" class="whisker"/>`);
      }
      const labelX = labelWidth + (Math.max(b.value, b.max) / maxValue) * plotWidth + 6;
      parts.push(`<text x="${labelX.toFixed(1)}" y="${by + barHeight - 3}" class="value">${escapeXml(b.label)}</text>`);
    });
    y += groupHeight + gap;
  }
  const height = y + 30;
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const x = labelWidth + (plotWidth * i) / 4;
    ticks.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${y - gap}" class="grid"/><text x="${x}" y="${y + 8}" text-anchor="middle" class="tick">${escapeXml(formatTick((maxValue * i) / 4))}</text>`);
  }
  const legend = seriesOrder
    .map((s, i) => {
      const lx = labelWidth + (i % 2) * 260;
      const ly = 8 + Math.floor(i / 2) * 16;
      return `<rect x="${lx}" y="${ly}" width="12" height="12" fill="${colorOf(s)}"/><text x="${lx + 16}" y="${ly + 10}" class="label">${escapeXml(s)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${labelWidth + plotWidth + 120}" height="${height}" viewBox="0 0 ${labelWidth + plotWidth + 120} ${height}"><title>${escapeXml(title)}</title>${ticks.join('')}${parts.join('')}${legend}<text x="${labelWidth + plotWidth / 2}" y="${height - 4}" text-anchor="middle" class="tick">${escapeXml(unit)}</text></svg>`;
}

function formatTick(v: number): string {
  if (v >= 1000) return `${Math.round(v).toLocaleString('en-US')}`;
  if (v >= 10) return v.toFixed(0);
  if (v >= 1) return v.toFixed(1);
  return v.toPrecision(2);
}

export interface CurveSeries {
  name: string;
  /** Series with the same key share a colour (one colour per target). */
  colorKey: string;
  /** [percentile 0..100, value] ascending by percentile. */
  points: Array<[number, number]>;
  dashed: boolean;
}

/** x position of a percentile on the nines axis: 0 -> 0, 90 -> 1, 99 -> 2, 99.9 -> 3 ... */
export function ninesOf(percentile: number): number {
  return 0 - Math.log10(Math.max(1e-9, 1 - percentile / 100));
}

/** Percentile curves: latency (log scale) against percentile (nines scale). */
export function percentileChart(title: string, series: readonly CurveSeries[], seriesOrder: readonly string[]): string {
  const left = 70;
  const width = 620;
  const height = 300;
  const legendRows = Math.ceil(series.length / 2);
  const top = 24 + legendRows * 16;
  const pts = series.flatMap((s) => s.points.filter(([p]) => p < 100));
  if (pts.length === 0) return '';
  const maxNines = Math.max(1, Math.ceil(Math.max(...pts.map(([p]) => ninesOf(p)))));
  const positive = pts.map(([, v]) => v).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...positive, 1)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...positive, lo * 10)));
  const xOf = (p: number): number => left + (ninesOf(p) / maxNines) * width;
  const yOf = (v: number): number => top + height - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * height;
  const colorOf = (name: string): string => PALETTE[Math.max(0, seriesOrder.indexOf(name)) % PALETTE.length]!;
  const grid: string[] = [];
  for (let n = 0; n <= maxNines; n++) {
    const p = 100 - 100 / 10 ** n;
    const x = left + (n / maxNines) * width;
    grid.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + height}" class="grid"/><text x="${x}" y="${top + height + 16}" text-anchor="middle" class="tick">${n === 0 ? '0' : `${Number(p.toFixed(n))}`}%</text>`);
  }
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const y = yOf(d);
    grid.push(`<line x1="${left}" y1="${y}" x2="${left + width}" y2="${y}" class="grid"/><text x="${left - 6}" y="${y + 4}" text-anchor="end" class="tick">${escapeXml(formatTick(d))} ms</text>`);
  }
  const lines = series.map((s) => {
    const d = s.points
      .filter(([p]) => p < 100)
      .map(([p, v], i) => `${i === 0 ? 'M' : 'L'}${xOf(p).toFixed(1)} ${yOf(v).toFixed(1)}`)
      .join('');
    return `<path d="${d}" fill="none" stroke="${colorOf(s.colorKey)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}><title>${escapeXml(s.name)}</title></path>`;
  });
  const legend = series
    .map((s, i) => {
      const lx = left + (i % 2) * 320;
      const ly = 14 + Math.floor(i / 2) * 16;
      return `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${colorOf(s.colorKey)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${lx + 30}" y="${ly + 4}" class="label">${escapeXml(s.name)}</text>`;
    })
    .join('');
  const total = top + height + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${left + width + 30}" height="${total}" viewBox="0 0 ${left + width + 30} ${total}"><title>${escapeXml(title)}</title>${grid.join('')}${lines.join('')}${legend}<text x="${left + width / 2}" y="${total - 4}" text-anchor="middle" class="tick">percentile</text></svg>`;
}
