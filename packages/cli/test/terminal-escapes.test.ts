import { describe, expect, it } from 'vitest';
import { printable } from '../src/output';
import {
  answerJson,
  deliveryData,
  runCli,
  SESSION_EVENT,
  startFakeHerald,
  startListen,
  startServer,
  streamEvents,
} from './harness';

/** What a hostile server puts in its strings: retitle the window, clear the screen, move up and erase a line. */
const HOSTILE = '\x1b]0;PWNED\x07\x1b[2J\x1b[1A\x1b[2K\x9b31m';
const ESCAPED = '\\u001b]0;PWNED\\u0007\\u001b[2J\\u001b[1A\\u001b[2K\\u009b31m';
/** No C0 or C1 control character but the line breaks the CLI writes itself. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('printable', () => {
  it('shows every C0 and C1 control character as \\uXXXX and leaves other text alone', () => {
    expect(printable(HOSTILE)).toBe(ESCAPED);
    expect(printable('a\tb\nc\rd\x00e\x7ff')).toBe('a\\u0009b\\u000ac\\u000dd\\u0000e\\u007ff');
    expect(printable('évènement 🚀 ✓')).toBe('évènement 🚀 ✓');
    // Bidirectional overrides reorder the rest of the line: `dlv_1\u202egnp.exe` shows as `dlv_1exe.png`.
    expect(printable('dlv_1\u202egnp.exe\u2066x\u2069\u200f')).toBe('dlv_1\\u202egnp.exe\\u2066x\\u2069\\u200f');
    expect(printable('שלום مرحبا')).toBe('שלום مرحبا');
  });
});

/** Server strings reach the terminal only made printable; --json stays exactly JSON.stringify's output. */
describe('herald output of server strings', () => {
  const env = (url: string) => ({ HERALD_API_URL: url, HERALD_API_KEY: 'sk_test' });

  it('in an error message from the API', async () => {
    const api = await startServer((_request, response) =>
      answerJson(response, 400, { error: { code: 'bad_request', message: `revoked${HOSTILE}` } }),
    );
    const run = await runCli(['endpoints', 'list'], env(api.url));
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`herald: listing endpoints failed: revoked${ESCAPED} (400 bad_request)\n`);
  });

  it('in deliveries list cells, and not in --json', async () => {
    const deliveries = [
      {
        id: 'dlv_1',
        eventType: `user.created${HOSTILE}`,
        status: 'failed',
        attemptCount: 1,
        lastStatusCode: null,
        lastError: `refused${HOSTILE}`,
        endpointId: 'ep_1',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
    ];
    const api = await startServer((_request, response) =>
      answerJson(response, 200, { data: deliveries, nextCursor: null }),
    );
    const human = await runCli(['deliveries', 'list'], env(api.url));
    expect(human.code).toBe(0);
    expect(human.stdout).not.toMatch(CONTROL);
    expect(human.stdout).toContain(`user.created${ESCAPED}  failed`);
    expect(human.stdout).toContain(`refused${ESCAPED}  ep_1`);
    const json = await runCli(['deliveries', 'list', '--json'], env(api.url));
    expect(json.stdout).toBe(`${JSON.stringify(deliveries, null, 2)}\n`);
  });

  it('in events tail lines, and not in --json', async () => {
    const event = { id: `evt_1${HOSTILE}`, type: `user.created${HOSTILE}`, timestamp: `t${HOSTILE}`, data: {} };
    const api = await startServer((_request, response) =>
      answerJson(response, 200, { data: [event], nextCursor: null }),
    );
    const args = ['events', 'tail', '--from-start', '--count', '1'];
    const human = await runCli(args, env(api.url));
    expect(human.stdout).toBe(`t${ESCAPED}  user.created${ESCAPED}  evt_1${ESCAPED}\n`);
    const json = await runCli([...args, '--json'], env(api.url));
    expect(json.stdout).toBe(`${JSON.stringify(event)}\n`);
  });

  it('in herald listen’s delivery lines and warnings, and not in --json', async () => {
    const fake = await startFakeHerald((response) =>
      streamEvents(
        response,
        `event: delivery\ndata: ${deliveryData({ deliveryId: `dlv_early${HOSTILE}` })}\n\n`,
        SESSION_EVENT,
        `event: delivery\ndata: ${deliveryData({ eventType: `user.created${HOSTILE}`, eventId: `evt_1${HOSTILE}` })}\n\n`,
      ),
    );
    const receiver = await startServer((_request, response) => response.end('ok'));
    const human = await startListen(fake.url, receiver.url);
    await human.waitForOutput((stdout) => stdout.includes(' 200 '));
    expect(human.stdout()).toContain(`user.created${ESCAPED}  evt_1${ESCAPED}  200`);
    expect(human.stderr()).toBe(`! skipped delivery dlv_early${ESCAPED}: it came before the session\n`);
    human.child.kill('SIGINT');
    await human.exited;
    expect(human.stdout()).not.toMatch(CONTROL);

    const json = await startListen(fake.url, receiver.url, ['--json']);
    await json.waitForOutput((stdout) => stdout.includes('"type":"delivery"'));
    const line = json
      .stdout()
      .split('\n')
      .find((l) => l.includes('"type":"delivery"'))!;
    expect(line).toContain(JSON.stringify(`user.created${HOSTILE}`));
    expect(JSON.parse(line)).toMatchObject({ eventType: `user.created${HOSTILE}`, eventId: `evt_1${HOSTILE}` });
    expect(JSON.parse(json.stderr())).toEqual({
      type: 'warning',
      message: `skipped delivery dlv_early${HOSTILE}: it came before the session`,
    });
  });
});
