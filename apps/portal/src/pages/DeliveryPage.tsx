import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { CodeBlock } from '../components/CodeBlock';
import { ErrorNote, SuccessNote } from '../components/Notes';
import { formatTime, Status } from '../components/Status';
import { Link } from '../router';
import { useTRPC } from '../trpc';

/** One delivery: its payload, every attempt with its request headers and answer, and retry. */
export function DeliveryPage({ id }: { id: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const delivery = useQuery({
    ...trpc.deliveries.get.queryOptions({ id }),
    // Follows a retry in progress until it has an outcome.
    refetchInterval: (q) => (q.state.data && ['pending', 'in_flight'].includes(q.state.data.status) ? 1_000 : false),
  });
  const request = useQuery({
    ...trpc.deliveries.request.queryOptions({ id }),
    refetchInterval: delivery.data && ['pending', 'in_flight'].includes(delivery.data.status) ? 1_000 : false,
  });
  const retry = useMutation(
    trpc.deliveries.retry.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries({ queryKey: trpc.deliveries.pathKey() }),
    }),
  );

  if (delivery.isPending) return <p className="loading">Loading…</p>;
  if (delivery.isError) {
    return (
      <>
        <h1 tabIndex={-1}>Delivery</h1>
        <ErrorNote error={delivery.error} />
      </>
    );
  }
  const d = delivery.data;
  const headersOf = new Map(request.data?.attempts.map((a) => [a.attemptNumber, a.headers]));
  return (
    <>
      <p className="crumbs">
        <Link to="deliveries">Delivery log</Link> /
      </p>
      <h1 tabIndex={-1}>
        Delivery <code>{d.id}</code>
      </h1>
      <dl className="facts">
        <dt>Status</dt>
        <dd data-testid="delivery-status">
          <Status status={d.status} />
        </dd>
        <dt>Event</dt>
        <dd>
          <code>{d.eventType}</code> <code>{d.eventId}</code>
        </dd>
        <dt>Endpoint</dt>
        <dd>
          <Link to={`endpoints/${d.endpointId}`} className="break">
            {request.data?.url || d.endpointId}
          </Link>
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(d.createdAt)}</dd>
        {d.nextAttemptAt && (
          <>
            <dt>Next attempt</dt>
            <dd>{formatTime(d.nextAttemptAt)}</dd>
          </>
        )}
      </dl>
      {d.status === 'failed' && (
        <div className="actions">
          <button type="button" disabled={retry.isPending || d.payloadExpired} onClick={() => retry.mutate({ id })}>
            Retry delivery
          </button>
          {d.payloadExpired && <span className="hint">The payload has expired: it cannot be sent again.</span>}
        </div>
      )}
      {retry.isError && <ErrorNote error={retry.error} />}
      {retry.isSuccess && <SuccessNote>Retry queued.</SuccessNote>}

      <section aria-labelledby="payload-title">
        <h2 id="payload-title">Payload</h2>
        {request.data ? <CodeBlock>{pretty(request.data.body)}</CodeBlock> : <p className="loading">Loading…</p>}
      </section>

      <section aria-labelledby="attempts-title">
        <h2 id="attempts-title">Attempts ({d.attempts.length})</h2>
        {d.attempts.length === 0 && <p>No attempt yet.</p>}
        <ol className="attempts">
          {d.attempts.map((a) => {
            const ok = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300;
            return (
              <li key={a.id} className="card" data-testid="attempt" data-status-code={a.statusCode ?? ''}>
                <h3>
                  Attempt {a.attemptNumber} <Status status={ok ? 'succeeded' : 'failed'} />
                </h3>
                <dl className="facts">
                  <dt>Sent</dt>
                  <dd>{formatTime(a.startedAt)}</dd>
                  <dt>Response status</dt>
                  <dd>{a.statusCode ?? 'none'}</dd>
                  <dt>Duration</dt>
                  <dd>{a.durationMs} ms</dd>
                  {a.errorClass && (
                    <>
                      <dt>Error</dt>
                      <dd>
                        <code>{a.errorClass}</code> {a.errorMessage}
                      </dd>
                    </>
                  )}
                </dl>
                <details>
                  <summary>Request headers</summary>
                  <table className="headers">
                    <tbody>
                      {(headersOf.get(a.attemptNumber) ?? []).map((h) => (
                        <tr key={h.name}>
                          <th scope="row">{h.name}</th>
                          <td className="break">{h.value}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </details>
                <h4>Response body (excerpt)</h4>
                <CodeBlock>{a.responseBody || '(empty)'}</CodeBlock>
              </li>
            );
          })}
        </ol>
      </section>
    </>
  );
}

function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
