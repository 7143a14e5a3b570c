import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EnvError, secretKeyFromEnv } from '@herald/config';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlatform, SECRET_KEY_FILE } from '../src/platform';
import { ADMIN_TOKEN, withJson } from './harness';

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const tempDirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-secret-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('HERALD_SECRET_KEY', () => {
  it('is required in production; a short one is refused without being quoted', () => {
    expect(() => secretKeyFromEnv({ NODE_ENV: 'production' })).toThrow(EnvError);
    expect(() => secretKeyFromEnv({ NODE_ENV: 'production' })).toThrow(/^HERALD_SECRET_KEY: is required/);
    expect(secretKeyFromEnv({ NODE_ENV: 'development' })).toBeUndefined();
    const short = 'short-but-secret';
    let message = '';
    try {
      secretKeyFromEnv({ HERALD_SECRET_KEY: short });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^HERALD_SECRET_KEY: must be at least 32 characters/);
    expect(message).not.toContain(short);
    const key = 'k'.repeat(32);
    expect(secretKeyFromEnv({ NODE_ENV: 'production', HERALD_SECRET_KEY: key })).toBe(key);
  });

  it('the API refuses to start in production without it, naming the variable', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: apiDir,
      env: { ...process.env, NODE_ENV: 'production', HERALD_SECRET_KEY: '', PORT: '0', HERALD_DATA_DIR: tempDir() },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(`${run.stdout}${run.stderr}`).toMatch(/HERALD_SECRET_KEY: is required when NODE_ENV=production/);
  });

  it('embedded PGlite keeps a generated key in its data directory (0600), the same across restarts', async () => {
    const dataDir = tempDir();
    const request = async (platform: Awaited<ReturnType<typeof createPlatform>>, path: string, init: RequestInit) =>
      platform.app.request(path, init);
    const open = () => createPlatform({ database: { dataDir }, dispatcher: false, api: { adminToken: ADMIN_TOKEN } });

    const first = await open();
    const project = (await (
      await request(first, '/v1/projects', withJson({ json: { name: 'kept key' } }, `Bearer ${ADMIN_TOKEN}`))
    ).json()) as { apiKey: { key: string } };
    const authorization = `Bearer ${project.apiKey.key}`;
    const post = (platform: Awaited<ReturnType<typeof createPlatform>>, email: string) =>
      request(
        platform,
        '/v1/users',
        withJson({ json: { email }, headers: { 'idempotency-key': 'kept-key-1' } }, authorization),
      );
    expect((await post(first, 'kept@example.com')).status).toBe(201);
    const file = join(dataDir, SECRET_KEY_FILE);
    const key = readFileSync(file, 'utf8').trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await first.close();

    const second = await open();
    try {
      expect(readFileSync(file, 'utf8').trim()).toBe(key);
      // The record written before the restart is still checked: same request replays, another one is refused.
      const replay = await post(second, 'kept@example.com');
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect((await post(second, 'other@example.com')).status).toBe(422);
    } finally {
      await second.close();
    }
  }, 60_000);
});
