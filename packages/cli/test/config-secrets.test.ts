import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSecret, signHeaders } from '@herald/signing';
import { describe, expect, it } from 'vitest';
import { configFilePath } from '../src/config';
import { answerJson, runCli, startServer } from './harness';

/** A config directory holding `herald/config.json` with `content`, at `mode`. */
function configHome(content: object, mode: number): { home: string; path: string } {
  const home = mkdtempSync(join(tmpdir(), 'herald-cli-config-'));
  mkdirSync(join(home, 'herald'));
  const path = join(home, 'herald', 'config.json');
  writeFileSync(path, JSON.stringify(content));
  chmodSync(path, mode);
  return { home, path };
}

describe('where the CLI keeps its secrets', () => {
  it('ignores a relative XDG_CONFIG_HOME, as the XDG spec says', () => {
    expect(configFilePath({ XDG_CONFIG_HOME: 'evil-checkout' })).not.toContain('evil-checkout');
    expect(configFilePath({ XDG_CONFIG_HOME: './x' })).not.toContain('/x/herald');
    expect(configFilePath({ XDG_CONFIG_HOME: '/etc/xdg-test' })).toBe('/etc/xdg-test/herald/config.json');
  });

  it.skipIf(process.platform === 'win32')(
    'warns when the config file holding the key can be read by other users, and not when it cannot',
    async () => {
      const api = await startServer((_request, response) => answerJson(response, 200, { data: [], nextCursor: null }));
      const open = configHome({ apiUrl: api.url, apiKey: 'sk_test' }, 0o644);
      const run = await runCli(['endpoints', 'list'], { XDG_CONFIG_HOME: open.home });
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(`${open.path} holds an API key and other users can read it (mode 644)`);
      expect(run.stderr).toContain(`chmod 600 ${open.path}`);
      expect(run.stderr).not.toContain('sk_test');

      const closed = configHome({ apiUrl: api.url, apiKey: 'sk_test' }, 0o600);
      const quiet = await runCli(['endpoints', 'list'], { XDG_CONFIG_HOME: closed.home });
      expect({ code: quiet.code, stderr: quiet.stderr }).toEqual({ code: 0, stderr: '' });

      // The key came from the environment: the file's key is not used, so nothing to warn about.
      const fromEnv = await runCli(['endpoints', 'list'], { XDG_CONFIG_HOME: open.home, HERALD_API_KEY: 'sk_env' });
      expect({ code: fromEnv.code, stderr: fromEnv.stderr }).toEqual({ code: 0, stderr: '' });
    },
  );

  it('verify takes the signing secret from HERALD_WEBHOOK_SECRET, out of the process list', async () => {
    const old = generateSecret();
    const current = generateSecret();
    const body = '{"type":"user.created"}';
    const headers = JSON.stringify(signHeaders({ id: 'msg_env', timestamp: new Date(), body, secrets: current }));
    const ok = await runCli(['verify', '--headers', headers], { HERALD_WEBHOOK_SECRET: ` ${old}  ${current} ` }, body);
    expect({ code: ok.code, stderr: ok.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ok.stdout).toContain('Signature valid: webhook-id msg_env');

    const wrong = await runCli(['verify', '--headers', headers], { HERALD_WEBHOOK_SECRET: old }, body);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('Signature invalid');

    const none = await runCli(['verify', '--headers', headers], {}, body);
    expect({ code: none.code, stderr: none.stderr }).toEqual({
      code: 1,
      stderr: 'herald: No signing secret: set HERALD_WEBHOOK_SECRET (or pass --secret whsec_…)\n',
    });
  });
});
