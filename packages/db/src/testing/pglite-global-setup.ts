import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDb } from '../client';

import './provided-context';

/**
 * Migrates one in-memory PGlite database for the run and keeps a copy of it in a file; each test
 * file's database then loads that copy (`loadDataDir`: about 0.5 s) instead of migrating its own
 * (2–3.5 s), which over some ninety PGlite databases is minutes of the suite.
 */
export default async function setup(project: TestProject) {
  const herald = await createDb({ dataDir: 'memory://' });
  const file = join(tmpdir(), `herald-pglite-template-${process.pid}-${project.name.replace(/\W/g, '_')}.tar`);
  try {
    const dump = await herald.pglite!.dumpDataDir('none');
    await writeFile(file, new Uint8Array(await dump.arrayBuffer()));
  } finally {
    await herald.close();
  }
  project.provide('pgliteTemplateFile', file);
  return async () => {
    await rm(file, { force: true });
  };
}
