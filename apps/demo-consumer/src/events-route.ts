import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { LiveTimeline, LiveUpdate } from './live-timeline';

const HEARTBEAT_MS = 15_000;
const BACKFILL_LIMIT = 500;

/**
 * GET /events: the timeline as server-sent events. A new stream gets the
 * stats and the latest entries, then live updates. Entries carry their id, so
 * a reconnecting EventSource (Last-Event-ID) resumes without gaps or repeats.
 */
export function createEventsRoute(options: { timeline: LiveTimeline; shutdown: AbortSignal }) {
  const { timeline, shutdown } = options;
  const route = new Hono();

  route.get('/events', (c) =>
    streamSSE(c, async (stream) => {
      const resumeFrom = Number(c.req.header('last-event-id'));
      const pending: LiveUpdate[] = [];
      let signal: (() => void) | null = null;
      const poke = () => signal?.();
      // Subscribe before reading the backfill, so nothing recorded in between is missed.
      const unsubscribe = timeline.subscribe((update) => {
        pending.push(update);
        poke();
      });
      stream.onAbort(poke);
      shutdown.addEventListener('abort', poke);
      const open = () => !stream.aborted && !stream.closed && !shutdown.aborted;

      try {
        await stream.writeSSE({ event: 'stats', data: JSON.stringify(timeline.stats()) });
        let lastSentId = 0;
        const backfill = await timeline.list({
          afterId: Number.isSafeInteger(resumeFrom) && resumeFrom > 0 ? resumeFrom : null,
          limit: BACKFILL_LIMIT,
        });
        for (const entry of backfill) {
          await stream.writeSSE({ event: 'entry', id: String(entry.id), data: JSON.stringify(entry) });
          lastSentId = entry.id;
        }
        while (open()) {
          const update = pending.shift();
          if (update?.kind === 'entry' && update.entry.id > lastSentId) {
            await stream.writeSSE({ event: 'entry', id: String(update.entry.id), data: JSON.stringify(update.entry) });
            lastSentId = update.entry.id;
          } else if (update?.kind === 'stats') {
            await stream.writeSSE({ event: 'stats', data: JSON.stringify(update.stats) });
          } else if (!update) {
            const woken = await new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), HEARTBEAT_MS);
              signal = () => {
                clearTimeout(timer);
                resolve(true);
              };
            });
            signal = null;
            // A comment line keeps proxies from closing an idle stream.
            if (!woken && open()) await stream.write(': heartbeat\n\n');
          }
        }
      } finally {
        unsubscribe();
        shutdown.removeEventListener('abort', poke);
      }
    }),
  );
  return route;
}
