import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { FormEvent } from 'react';
import { useState } from 'react';
import { ErrorNote } from '../components/Notes';
import { Link, navigate } from '../router';
import { useTRPC } from '../trpc';

type Ordering = 'none' | 'fifo';

interface Values {
  url: string;
  description: string;
  eventTypes: string[] | null;
  ordering: Ordering;
  rateLimit: string;
}

/** Create (no id) or edit an endpoint: URL, description, event types from the catalog, ordering, rate limit. */
export function EndpointFormPage({ id }: { id?: string }) {
  const trpc = useTRPC();
  const existing = useQuery({ ...trpc.endpoints.get.queryOptions({ id: id ?? '' }), enabled: Boolean(id) });
  if (id && existing.isPending) return <p className="loading">Loading…</p>;
  if (id && existing.isError) return <ErrorNote error={existing.error} />;
  const e = existing.data;
  const initial: Values = e
    ? {
        url: e.url,
        description: e.description ?? '',
        eventTypes: e.eventTypes,
        ordering: e.ordering,
        rateLimit: e.rateLimit === null ? '' : String(e.rateLimit),
      }
    : { url: '', description: '', eventTypes: null, ordering: 'none', rateLimit: '' };
  return <EndpointForm id={id} initial={initial} />;
}

function EndpointForm({ id, initial }: { id: string | undefined; initial: Values }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const catalog = useQuery(trpc.events.types.queryOptions());
  const [values, setValues] = useState<Values>(initial);
  const onDone = async (endpointId: string) => {
    await queryClient.invalidateQueries({ queryKey: trpc.endpoints.pathKey() });
    navigate(`endpoints/${endpointId}`);
  };
  const create = useMutation(trpc.endpoints.create.mutationOptions({ onSuccess: (r) => onDone(r.endpoint.id) }));
  const update = useMutation(trpc.endpoints.update.mutationOptions({ onSuccess: (r) => onDone(r.id) }));
  const mutation = id ? update : create;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const common = {
      url: values.url.trim(),
      description: values.description.trim() || null,
      eventTypes: values.eventTypes as never,
      ordering: values.ordering,
      rateLimit: values.rateLimit === '' ? null : Number(values.rateLimit),
    };
    if (id) update.mutate({ id, ...common });
    else create.mutate(common);
  };
  const allTypes = values.eventTypes === null;
  const toggleType = (type: string, on: boolean) => {
    const current = values.eventTypes ?? [];
    const next = on ? [...current, type] : current.filter((t) => t !== type);
    setValues({ ...values, eventTypes: next });
  };

  return (
    <>
      <h1 tabIndex={-1}>{id ? 'Edit endpoint' : 'New endpoint'}</h1>
      <form className="form" onSubmit={submit}>
        <label htmlFor="url">URL</label>
        <input
          id="url"
          name="url"
          type="url"
          required
          placeholder="https://example.com/webhooks"
          value={values.url}
          onChange={(ev) => setValues({ ...values, url: ev.target.value })}
        />
        <label htmlFor="description">Description (optional)</label>
        <input
          id="description"
          name="description"
          value={values.description}
          onChange={(ev) => setValues({ ...values, description: ev.target.value })}
        />
        <fieldset>
          <legend>Event types</legend>
          <label className="check">
            <input
              type="checkbox"
              checked={allTypes}
              onChange={(ev) => setValues({ ...values, eventTypes: ev.target.checked ? null : [] })}
            />
            All event types, present and future
          </label>
          {!allTypes &&
            catalog.data?.data.map((type) => (
              <label key={type.type} className="check">
                <input
                  type="checkbox"
                  name="eventType"
                  value={type.type}
                  checked={values.eventTypes?.includes(type.type) ?? false}
                  onChange={(ev) => toggleType(type.type, ev.target.checked)}
                />
                <code>{type.type}</code> <span className="hint">{type.description}</span>
              </label>
            ))}
        </fieldset>
        <label htmlFor="ordering">Ordering</label>
        <select
          id="ordering"
          value={values.ordering}
          onChange={(ev) => setValues({ ...values, ordering: ev.target.value as Ordering })}
        >
          <option value="none">Concurrent (fastest)</option>
          <option value="fifo">FIFO per subject (one user's events in order)</option>
        </select>
        <label htmlFor="rateLimit">Rate limit (deliveries per second, empty for none)</label>
        <input
          id="rateLimit"
          type="number"
          min={1}
          max={100000}
          inputMode="numeric"
          value={values.rateLimit}
          onChange={(ev) => setValues({ ...values, rateLimit: ev.target.value })}
        />
        {mutation.isError && <ErrorNote error={mutation.error} />}
        <div className="actions">
          <button type="submit" disabled={mutation.isPending}>
            {id ? 'Save' : 'Create endpoint'}
          </button>
          <Link to={id ? `endpoints/${id}` : ''}>Cancel</Link>
        </div>
      </form>
    </>
  );
}
