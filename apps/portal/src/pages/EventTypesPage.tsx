import { useQuery } from '@tanstack/react-query';
import { CodeBlock } from '../components/CodeBlock';
import { ErrorNote } from '../components/Notes';
import { useTRPC } from '../trpc';

/** The event catalog: what each type means, its JSON Schema and an example payload. */
export function EventTypesPage() {
  const trpc = useTRPC();
  const catalog = useQuery(trpc.events.types.queryOptions());
  return (
    <>
      <h1 tabIndex={-1}>Event catalog</h1>
      {catalog.isError && <ErrorNote error={catalog.error} />}
      {catalog.data?.data.map((type) => (
        <section key={type.type} className="card" aria-labelledby={`type-${type.type}`} data-testid="event-type">
          <h2 id={`type-${type.type}`}>
            <code>{type.type}</code> <span className="hint">version {type.version}</span>
          </h2>
          <p>{type.description}</p>
          <details>
            <summary>JSON Schema</summary>
            <CodeBlock>{JSON.stringify(type.schema, null, 2)}</CodeBlock>
          </details>
          <details>
            <summary>Example payload</summary>
            <CodeBlock>{JSON.stringify(type.example, null, 2)}</CodeBlock>
          </details>
        </section>
      ))}
    </>
  );
}
