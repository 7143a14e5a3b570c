import { useQuery } from '@tanstack/react-query';
import { ErrorNote } from '../components/Notes';
import { Status } from '../components/Status';
import { Link, useLocation } from '../router';
import { useTRPC } from '../trpc';

/** Endpoints per page (the API gives at most 100). */
const PAGE_SIZE = 50;

/** The project's endpoints, a page at a time: the cursor lives in the URL, as the delivery log's does. */
export function EndpointsPage() {
  const trpc = useTRPC();
  const { query } = useLocation();
  const cursor = query.get('cursor') ?? undefined;
  const endpoints = useQuery({
    ...trpc.endpoints.list.queryOptions({ limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) }),
    placeholderData: (previous) => previous,
  });
  return (
    <>
      <div className="page-head">
        <h1 tabIndex={-1}>Endpoints</h1>
        <Link className="button" to="endpoints/new">
          New endpoint
        </Link>
      </div>
      {endpoints.isError && <ErrorNote error={endpoints.error} />}
      {endpoints.data && endpoints.data.data.length === 0 && (
        <p>{cursor ? 'No more endpoints.' : 'No endpoints yet. Create one to start receiving webhooks.'}</p>
      )}
      {endpoints.data && endpoints.data.data.length > 0 && (
        <ul className="cards" aria-label="Endpoints">
          {endpoints.data.data.map((endpoint) => (
            <li key={endpoint.id} className="card" data-testid="endpoint-row">
              <Link to={`endpoints/${endpoint.id}`} className="card-title">
                {endpoint.url}
              </Link>
              <div className="meta">
                <Status status={endpoint.disabled ? 'disabled' : 'enabled'} />
                <span>{endpoint.eventTypes ? endpoint.eventTypes.join(', ') : 'All event types'}</span>
                {endpoint.description && <span>{endpoint.description}</span>}
              </div>
            </li>
          ))}
        </ul>
      )}
      <nav className="pager" aria-label="Pages">
        {cursor && <Link to="">First page</Link>}
        {endpoints.data?.nextCursor && (
          <Link to={`?cursor=${encodeURIComponent(endpoints.data.nextCursor)}`}>Next endpoints</Link>
        )}
      </nav>
    </>
  );
}
