import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The architecture, checked: apps import packages, never another app, and
 * the demo consumer (a stand-in for a customer's backend) uses only what a
 * customer could install. Lifecycle writes and webhook bytes have one home.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const APPS = ['@herald/api', '@herald/dispatcher', '@herald/demo-consumer'];
const CONSUMER_ALLOWED = ['@herald/client', '@herald/signing', '@herald/events', '@herald/webhooks'];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name === 'sdk') continue;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.(ts|tsx|mts)$/.test(entry.name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

function srcDirs(group: 'apps' | 'packages'): Array<{ name: string; dir: string }> {
  return readdirSync(path.join(root, group), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ name: e.name, dir: path.join(root, group, e.name, 'src') }))
    .filter((p) => {
      try {
        return readdirSync(p.dir).length > 0;
      } catch {
        return false;
      }
    });
}

/** Every module specifier a file imports, re-exports or loads dynamically. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\s+['"]([^'"]+)['"]/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]!);
  return found;
}

const rel = (file: string) => path.relative(root, file);

describe('imports', () => {
  it('finds the import specifiers of a file (the checker itself works)', () => {
    const text = `import { a } from '@herald/api';\nimport type { B } from "../../apps/x";\nexport * from './y';\nconst m = await import('@herald/dispatcher');\nimport 'side-effect';`;
    expect(specifiers(text).sort()).toEqual(
      ['../../apps/x', './y', '@herald/api', '@herald/dispatcher', 'side-effect'].sort(),
    );
  });

  it('no file under apps/*/src or packages/*/src imports another app', () => {
    const offences: string[] = [];
    for (const group of ['apps', 'packages'] as const) {
      for (const { name, dir } of srcDirs(group)) {
        const own = group === 'apps' ? `@herald/${name}` : null;
        for (const file of sourceFiles(dir)) {
          for (const spec of specifiers(readFileSync(file, 'utf8'))) {
            const app = APPS.find((a) => spec === a || spec.startsWith(`${a}/`));
            if (app && app !== own) offences.push(`${rel(file)} imports ${spec}`);
            if (
              spec.startsWith('.') &&
              path.resolve(path.dirname(file), spec).startsWith(path.join(root, 'apps') + path.sep)
            ) {
              const target = path
                .relative(path.join(root, 'apps'), path.resolve(path.dirname(file), spec))
                .split(path.sep)[0];
              if (group === 'packages' || target !== name) offences.push(`${rel(file)} reaches into apps/ by ${spec}`);
            }
          }
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('the demo consumer imports only the packages a customer installs', () => {
    const offences: string[] = [];
    for (const file of sourceFiles(path.join(root, 'apps/demo-consumer/src'))) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('@herald/') && !CONSUMER_ALLOWED.some((p) => spec === p || spec.startsWith(`${p}/`))) {
          offences.push(`${rel(file)} imports ${spec}`);
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('only packages/delivery writes the deliveries table', () => {
    const offences: string[] = [];
    for (const group of ['apps', 'packages'] as const) {
      for (const { dir } of srcDirs(group)) {
        if (dir.startsWith(path.join(root, 'packages/delivery'))) continue;
        for (const file of sourceFiles(dir)) {
          const text = readFileSync(file, 'utf8');
          if (/update\s+deliveries\b|update\(deliveries\)/i.test(text)) offences.push(rel(file));
        }
      }
    }
    expect(offences).toEqual([]);
  });

  it('webhook signature headers are built in one function', () => {
    const builders: string[] = [];
    for (const dir of ['apps', 'packages', 'bench'].map((d) => path.join(root, d))) {
      for (const file of sourceFiles(dir)) {
        if (file.includes(`${path.sep}test${path.sep}`)) continue;
        const text = readFileSync(file, 'utf8');
        if (/['"]webhook-signature['"]\s*:/.test(text) || /\bsignHeaders\(|\bsignPayload\(/.test(text))
          builders.push(rel(file));
      }
    }
    // @herald/signing defines the primitives; message.ts is their one caller that sends webhooks.
    expect(builders.filter((f) => !f.startsWith('packages/signing/')).sort()).toEqual([
      'packages/delivery/src/message.ts',
    ]);
  });
});
