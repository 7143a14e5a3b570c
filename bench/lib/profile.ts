/**
 * Reads V8 .cpuprofile files (from `node --cpu-prof`) and prints where the
 * time went: top functions by self time, and self time per package.
 * CLI: `tsx bench/lib/profile.ts <file.cpuprofile> [...]`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string): string {
  if (!url) return '(native/vm)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return 'node (core)';
  const herald = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (herald) return `@herald/${herald[2]}`;
  if (url.includes('/bench/')) return 'bench harness';
  return url;
}

export function summarizeProfile(file: string, top = 25): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  let total = 0;
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const { functionName, url, lineNumber } = node.callFrame;
    total += us;
    const short = url
      .replace(/^file:\/\//, '')
      .replace(/.*node_modules\//, '')
      .replace(/.*\/work\/main\//, '');
    const key = `${functionName || '(anonymous)'}  ${short ? `${short}:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = functionName.startsWith('(') && !url ? functionName : packageOf(url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  const busy = total - (byPackage.get('(idle)') ?? 0);
  // Shares of busy time: idle samples say nothing about where the work went.
  const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  byPackage.delete('(idle)');
  byFunction.delete('(idle)  ');
  const lines = [
    `${path.basename(file)}: ${(total / 1e6).toFixed(1)} s sampled, ${((100 * busy) / total).toFixed(0)} % busy`,
  ];
  lines.push('  self time by package (share of busy time):');
  for (const [pkg, us] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 15)) lines.push(`    ${pct(us)}  ${pkg}`);
  lines.push(`  top ${top} functions by self time:`);
  for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`    ${pct(us)}  ${fn}`);
  lines.push(`  top ${top} named application/library functions by total (inclusive) time:`);
  for (const [fn, us] of inclusive(profile, selfUs).slice(0, top)) lines.push(`    ${pct(us)}  ${fn}`);
  return lines.join('\n');
}

/** Time spent in each function including its callees; recursion counted once per sample. */
function inclusive(profile: CpuProfile, selfUs: Map<number, number>): Array<[string, number]> {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!functionName || !url || url.startsWith('node:') || functionName === '(idle)') continue;
      const key = `${functionName}  ${url
        .replace(/^file:\/\//, '')
        .replace(/.*node_modules\//, '')
        .replace(/.*\/work\/main\//, '')}:${lineNumber + 1}`;
      if (!seen.has(key)) {
        seen.add(key);
        totals.set(key, (totals.get(key) ?? 0) + us);
      }
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

/** Main-thread profiles written under `dir` (one sub-directory per process) since `sinceMs`, summarized. */
export function summarizeProfiles(dir: string, sinceMs = 0): string {
  const out: string[] = [];
  let subdirs: string[] = [];
  try {
    subdirs = readdirSync(dir)
      .map((d) => path.join(dir, d))
      .filter((d) => statSync(d).isDirectory() && statSync(d).mtimeMs >= sinceMs);
  } catch {
    // no profiles yet
  }
  for (const sub of subdirs) {
    const files = readdirSync(sub)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(sub, f));
    // The main thread is the one that loaded the app: the largest profile (the loader thread's is small).
    const main = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
    if (main) out.push(`${main}\n${summarizeProfile(main)}`);
  }
  return out.length ? out.join('\n\n') : '(no profiles found)';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const file of process.argv.slice(2)) console.log(`${summarizeProfile(file)}\n`);
}
