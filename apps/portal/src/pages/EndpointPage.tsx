import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { useState } from 'react';
import { ErrorNote, SuccessNote } from '../components/Notes';
import { StatsChart } from '../components/StatsChart';
import { formatTime, Status } from '../components/Status';
import { Link } from '../router';
import { useTRPC } from '../trpc';

export function EndpointPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const endpoint = useQuery(trpc.endpoints.get.queryOptions({ id }));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.endpoints.pathKey() });
  const toggle = useMutation(trpc.endpoints.update.mutationOptions({ onSuccess: refresh }));

  if (endpoint.isPending) return <p className="loading">Loading…</p>;
  if (endpoint.isError) {
    return (
      <>
        <h1 tabIndex={-1}>Endpoint</h1>
        <ErrorNote error={endpoint.error} />
      </>
    );
  }
  const e = endpoint.data;
  return (
    <>
      <p className="crumbs">
        <Link to="">Endpoints</Link> /
      </p>
      <h1 tabIndex={-1} className="break">
        {e.url}
      </h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <Status status={e.disabled ? 'disabled' : 'enabled'} />
          {e.disabledReason && <span className="hint"> ({e.disabledReason})</span>}
        </dd>
        <dt>Event types</dt>
        <dd>{e.eventTypes ? e.eventTypes.join(', ') : 'All event types'}</dd>
        <dt>Ordering</dt>
        <dd>{e.ordering === 'fifo' ? 'FIFO per subject' : 'Concurrent'}</dd>
        <dt>Rate limit</dt>
        <dd>{e.rateLimit === null ? 'None' : `${e.rateLimit} per second`}</dd>
        {e.description && (
          <>
            <dt>Description</dt>
            <dd>{e.description}</dd>
          </>
        )}
        <dt>Id</dt>
        <dd>
          <code>{e.id}</code>
        </dd>
      </dl>
      <div className="actions">
        <Link className="button" to={`endpoints/${id}/edit`}>
          Edit
        </Link>
        <button type="button" disabled={toggle.isPending} onClick={() => toggle.mutate({ id, disabled: !e.disabled })}>
          {e.disabled ? 'Enable' : 'Disable'}
        </button>
        <Link className="button secondary" to={`deliveries?endpointId=${id}`}>
          Deliveries
        </Link>
      </div>
      {toggle.isError && <ErrorNote error={toggle.error} />}
      <EndpointStats id={id} />
      <SecretPanel id={id} />
      <TestEventPanel id={id} />
      <RecoverPanel id={id} />
    </>
  );
}

function EndpointStats({ id }: { id: string }) {
  const trpc = useTRPC();
  const stats = useQuery({ ...trpc.endpoints.stats.queryOptions({ id }), refetchInterval: 10_000 });
  return (
    <section aria-labelledby="stats-title">
      <h2 id="stats-title">Last 24 hours</h2>
      {stats.isError && <ErrorNote error={stats.error} />}
      {stats.data && (
        <>
          <dl className="figures" data-testid="endpoint-stats">
            <div>
              <dt>Success rate</dt>
              <dd>{stats.data.successRate === null ? '—' : `${Math.round(stats.data.successRate * 1000) / 10} %`}</dd>
            </div>
            <div>
              <dt>Average latency</dt>
              <dd>{stats.data.avgDurationMs === null ? '—' : `${stats.data.avgDurationMs} ms`}</dd>
            </div>
            <div>
              <dt>Attempts</dt>
              <dd>{stats.data.attempts}</dd>
            </div>
            <div>
              <dt>Backlog</dt>
              <dd data-testid="backlog">{stats.data.backlog.queued} queued</dd>
            </div>
            <div>
              <dt>Oldest due</dt>
              <dd>{formatTime(stats.data.backlog.oldestDueAt)}</dd>
            </div>
          </dl>
          <StatsChart hours={stats.data.hours} />
          <div className="chart-axis" aria-hidden="true">
            <span>24 h ago</span>
            <span>now</span>
          </div>
          <p className="hint">Solid: succeeded attempts. Hatched: failed attempts. Line: average latency.</p>
        </>
      )}
    </section>
  );
}

function SecretPanel({ id }: { id: string }) {
  const trpc = useTRPC();
  const [revealed, setRevealed] = useState(false);
  const secret = useQuery({ ...trpc.endpoints.getSecret.queryOptions({ id }), enabled: revealed, staleTime: 0 });
  const queryClient = useQueryClient();
  const rotate = useMutation(
    trpc.endpoints.rotateSecret.mutationOptions({
      onSuccess: async (result) => {
        queryClient.setQueryData(trpc.endpoints.getSecret.queryKey({ id }), { secret: result.secret });
        setRevealed(true);
      },
    }),
  );
  return (
    <section aria-labelledby="secret-title">
      <h2 id="secret-title">Signing secret</h2>
      <p>
        {revealed && secret.data ? (
          <code className="secret break" data-testid="secret">
            {secret.data.secret}
          </code>
        ) : (
          <span className="hint">Hidden</span>
        )}
      </p>
      <div className="actions">
        <button type="button" onClick={() => setRevealed(!revealed)} aria-pressed={revealed}>
          {revealed ? 'Hide secret' : 'Reveal secret'}
        </button>
        <button type="button" className="secondary" disabled={rotate.isPending} onClick={() => rotate.mutate({ id })}>
          Rotate secret
        </button>
      </div>
      {secret.isError && <ErrorNote error={secret.error} />}
      {rotate.isError && <ErrorNote error={rotate.error} />}
      {rotate.data && (
        <SuccessNote>
          Secret rotated. The previous secret keeps signing until {formatTime(rotate.data.previousSecretExpiresAt)}.
        </SuccessNote>
      )}
    </section>
  );
}

function TestEventPanel({ id }: { id: string }) {
  const trpc = useTRPC();
  const catalog = useQuery(trpc.events.types.queryOptions());
  const [eventType, setEventType] = useState('user.created');
  const send = useMutation(trpc.endpoints.sendTest.mutationOptions());
  const submit = (event: FormEvent) => {
    event.preventDefault();
    send.mutate({ id, eventType: eventType as never });
  };
  return (
    <section aria-labelledby="test-title">
      <h2 id="test-title">Send a test event</h2>
      <form className="inline-form" onSubmit={submit}>
        <label htmlFor="test-type">Event type</label>
        <select id="test-type" value={eventType} onChange={(ev) => setEventType(ev.target.value)}>
          {catalog.data?.data.map((t) => (
            <option key={t.type} value={t.type}>
              {t.type}
            </option>
          ))}
        </select>
        <button type="submit" disabled={send.isPending}>
          Send test event
        </button>
      </form>
      {send.isError && <ErrorNote error={send.error} />}
      {send.data && (
        <SuccessNote>
          Test event <code>{send.data.eventId}</code> queued.{' '}
          <Link to={`deliveries?eventId=${send.data.eventId}`}>See its delivery</Link>
        </SuccessNote>
      )}
    </section>
  );
}

function RecoverPanel({ id }: { id: string }) {
  const trpc = useTRPC();
  const [since, setSince] = useState(() => toLocalInput(new Date(Date.now() - 3_600_000)));
  const recover = useMutation(trpc.endpoints.recover.mutationOptions());
  const submit = (event: FormEvent) => {
    event.preventDefault();
    recover.mutate({ id, since: new Date(since).toISOString() });
  };
  return (
    <section aria-labelledby="recover-title">
      <h2 id="recover-title">Recover</h2>
      <p className="hint">Sends again the failed deliveries since a time, and the events this endpoint missed.</p>
      <form className="inline-form" onSubmit={submit}>
        <label htmlFor="recover-since">Since</label>
        <input
          id="recover-since"
          type="datetime-local"
          required
          value={since}
          onChange={(ev) => setSince(ev.target.value)}
        />
        <button type="submit" disabled={recover.isPending}>
          Recover
        </button>
      </form>
      {recover.isError && <ErrorNote error={recover.error} />}
      {recover.data && (
        <SuccessNote>
          {recover.data.requeued} failed deliveries queued again, {recover.data.missed} missed events queued.
          {recover.data.more && ' More remain: press Recover again to queue the next ones.'}
        </SuccessNote>
      )}
    </section>
  );
}

/** `yyyy-MM-ddTHH:mm` in local time, as datetime-local inputs take. */
export function toLocalInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}
