import { useQuery } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { ErrorNote } from '../components/Notes';
import { formatTime, Status } from '../components/Status';
import { Link, navigate, useLocation } from '../router';
import { useTRPC } from '../trpc';
import { toLocalInput } from './EndpointPage';

const STATUSES = ['pending', 'in_flight', 'succeeded', 'failed'] as const;
const FILTERS = ['status', 'eventType', 'endpointId', 'eventId', 'since', 'until'] as const;
/** How often the first page asks for new deliveries: they appear without a reload. */
const LIVE_INTERVAL_MS = 2_000;

/** The delivery log: filters and the cursor live in the URL, so a filtered view can be shared or reloaded. */
export function DeliveriesPage() {
  const trpc = useTRPC();
  const { query } = useLocation();
  const filters = Object.fromEntries(FILTERS.map((f) => [f, query.get(f) ?? ''])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const cursor = query.get('cursor') ?? undefined;
  const input = {
    limit: 20,
    ...(filters.status ? { status: filters.status as (typeof STATUSES)[number] } : {}),
    ...(filters.eventType ? { eventType: filters.eventType as never } : {}),
    ...(filters.endpointId ? { endpointId: filters.endpointId } : {}),
    ...(filters.eventId ? { eventId: filters.eventId } : {}),
    // From the address bar, so anything: a time that does not parse is no filter (toISOString threw, blanking the page).
    ...(isoTime(filters.since) ? { since: isoTime(filters.since)! } : {}),
    ...(isoTime(filters.until) ? { until: isoTime(filters.until)! } : {}),
    ...(cursor ? { cursor } : {}),
  };
  const deliveries = useQuery({
    ...trpc.deliveries.list.queryOptions(input),
    // Live on the newest page; an older page stays put while it is read.
    refetchInterval: cursor ? false : LIVE_INTERVAL_MS,
    placeholderData: (previous) => previous,
  });
  const endpoints = useQuery(trpc.endpoints.list.queryOptions({ limit: 100 }));
  const catalog = useQuery(trpc.events.types.queryOptions());
  const urlOf = new Map(endpoints.data?.data.map((e) => [e.id, e.url]));
  // Past the first page of endpoints (or filtered by one not on it, from a shared link), the
  // endpoint filter takes an id, with the first page as suggestions: a menu of those alone could
  // neither choose nor show the others.
  const endpointOptions = endpoints.data?.data.map((e) => (
    <option key={e.id} value={e.id}>
      {e.url}
    </option>
  ));
  const endpointById =
    Boolean(endpoints.data?.nextCursor) ||
    (filters.endpointId !== '' && endpoints.data !== undefined && !urlOf.has(filters.endpointId));

  const apply = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const params = new URLSearchParams();
    for (const f of FILTERS) {
      const value = String(form.get(f) ?? '').trim();
      if (value) params.set(f, value);
    }
    navigate(`deliveries${params.size ? `?${params}` : ''}`);
  };
  const withCursor = (next: string | null) => {
    const params = new URLSearchParams(query);
    if (next) params.set('cursor', next);
    else params.delete('cursor');
    return `deliveries${params.size ? `?${params}` : ''}`;
  };

  return (
    <>
      <h1 tabIndex={-1}>Delivery log</h1>
      <form className="filters" onSubmit={apply} aria-label="Filter deliveries" key={query.toString()}>
        <div>
          <label htmlFor="f-status">Status</label>
          <select id="f-status" name="status" defaultValue={filters.status}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="f-type">Event type</label>
          <select id="f-type" name="eventType" defaultValue={filters.eventType}>
            <option value="">Any</option>
            {catalog.data?.data.map((t) => (
              <option key={t.type} value={t.type}>
                {t.type}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="f-endpoint">{endpointById ? 'Endpoint id' : 'Endpoint'}</label>
          {endpointById ? (
            <>
              <input
                id="f-endpoint"
                name="endpointId"
                defaultValue={filters.endpointId}
                placeholder="ep_…"
                list="f-endpoint-ids"
              />
              <datalist id="f-endpoint-ids">{endpointOptions}</datalist>
            </>
          ) : (
            <select id="f-endpoint" name="endpointId" defaultValue={filters.endpointId}>
              <option value="">Any</option>
              {endpointOptions}
            </select>
          )}
        </div>
        <div>
          <label htmlFor="f-event">Event id</label>
          <input id="f-event" name="eventId" defaultValue={filters.eventId} placeholder="evt_…" />
        </div>
        <div>
          <label htmlFor="f-since">From</label>
          <input
            id="f-since"
            name="since"
            type="datetime-local"
            defaultValue={filters.since}
            max={toLocalInput(new Date())}
          />
        </div>
        <div>
          <label htmlFor="f-until">To</label>
          <input id="f-until" name="until" type="datetime-local" defaultValue={filters.until} />
        </div>
        <div className="filter-actions">
          <button type="submit">Apply filters</button>
          <Link to="deliveries">Clear</Link>
        </div>
      </form>
      <p className="hint" aria-live="polite">
        {cursor ? 'Older deliveries (not live).' : 'Live: new deliveries appear as they happen.'}
      </p>
      {deliveries.isError && <ErrorNote error={deliveries.error} />}
      {deliveries.data && deliveries.data.data.length === 0 && <p>No deliveries match.</p>}
      {deliveries.data && deliveries.data.data.length > 0 && (
        <table className="log">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Event type</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Attempts</th>
              <th scope="col">Last answer</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.data.data.map((d) => (
              <tr key={d.id} data-testid="delivery-row" data-status={d.status} data-event-id={d.eventId}>
                <td data-label="Status">
                  <Link to={`deliveries/${d.id}`} aria-label={`Delivery ${d.id}: ${d.status.replace('_', ' ')}`}>
                    <Status status={d.status} />
                  </Link>
                </td>
                <td data-label="Event type">
                  <code>{d.eventType}</code>
                </td>
                <td data-label="Endpoint" className="break">
                  {urlOf.get(d.endpointId) ?? d.endpointId}
                </td>
                <td data-label="Attempts">{d.attemptCount}</td>
                <td data-label="Last answer">{d.lastStatusCode ?? d.lastError ?? '—'}</td>
                <td data-label="Created">{formatTime(d.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav className="pager" aria-label="Pages">
        {cursor && <Link to={withCursor(null)}>Newest</Link>}
        {deliveries.data?.nextCursor && <Link to={withCursor(deliveries.data.nextCursor)}>Older deliveries</Link>}
      </nav>
    </>
  );
}

/** The time a filter's text names, as ISO 8601; undefined when empty or not a time. */
function isoTime(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
