/**
 * True when tRPC answers this request as a stream, call by call as they finish (JSON Lines, or
 * server-sent events for a subscription), not one JSON answer. tRPC's own rule for JSON Lines
 * (`getAcceptHeader` in its `resolveResponse`): `trpc-accept` when present, else `application/jsonl`
 * among `Accept`'s types. Such an answer cannot be answered by the single-call path, nor stored
 * and replayed under an Idempotency-Key (nor searched for a secret it must not keep).
 */
export function answersAsStream(header: (name: string) => string | undefined): boolean {
  const trpcAccept = header('trpc-accept');
  if (trpcAccept !== undefined) return trpcAccept === 'application/jsonl';
  const accept = header('accept') ?? '';
  return accept.split(',').some((type) => {
    const t = type.trim();
    return t === 'application/jsonl' || t.startsWith('text/event-stream');
  });
}
