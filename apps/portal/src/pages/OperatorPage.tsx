import { useQuery } from '@tanstack/react-query';
import { ErrorNote } from '../components/Notes';
import { formatTime } from '../components/Status';
import { useTRPC } from '../trpc';

/** Every project: queue depth, oldest due delivery, failing and disabled endpoints. */
export function OperatorPage() {
  const trpc = useTRPC();
  const overview = useQuery({ ...trpc.operator.overview.queryOptions(), refetchInterval: 5_000 });
  return (
    <>
      <h1 tabIndex={-1}>All projects</h1>
      {overview.isError && <ErrorNote error={overview.error} />}
      {overview.data && (
        <table className="log">
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Queued</th>
              <th scope="col">Oldest due</th>
              <th scope="col">Endpoints</th>
              <th scope="col">Failing</th>
              <th scope="col">Disabled</th>
            </tr>
          </thead>
          <tbody>
            {overview.data.data.map((p) => (
              <tr key={p.id} data-testid="project-row" data-project-id={p.id}>
                <td data-label="Project">
                  {p.name} <code className="hint">{p.id}</code>
                </td>
                <td data-label="Queued">{p.queued}</td>
                <td data-label="Oldest due">{formatTime(p.oldestDueAt)}</td>
                <td data-label="Endpoints">{p.endpoints}</td>
                <td data-label="Failing">
                  {p.failingEndpoints > 0 ? <strong>⚠ {p.failingEndpoints} failing</strong> : '0'}
                </td>
                <td data-label="Disabled">{p.disabledEndpoints}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
