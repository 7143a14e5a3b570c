import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchDir } from './child';
import type { Figure } from './context';
import { meets } from './context';
import { fmtSpread } from './stats';

export function machine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    platform: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

function pad(text: string, width: number) {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function renderTable(figures: Figure[]): string {
  const rows = figures.map((f) => {
    const met = meets(f);
    return [
      f.id,
      f.name,
      f.ratio ? fmtSpread(f.ratio, 2) : '—',
      f.goal ? `${f.goal.op === '>=' ? '≥' : '≤'} ${f.goal.value}` : '',
      met === null ? '' : met ? 'yes' : 'NO',
      f.absolute,
    ];
  });
  const header = ['#', 'Figure', 'Herald ÷ baseline: median (min–max)', 'Goal', 'Met', 'Absolute'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ');
  return [
    line(header),
    widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? Math.min(w, 40) : w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

export function writeResults(payload: Record<string, unknown>): string {
  const dir = path.join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString().slice(0, 10);
  const file = path.join(dir, `${date}.json`);
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}
