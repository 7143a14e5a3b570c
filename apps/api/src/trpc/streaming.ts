/**
 * True when tRPC answers this request as a stream of JSON Lines, call by call as they finish, not
 * one JSON answer: tRPC's own rule (`getAcceptHeader` in its `resolveResponse`), `trpc-accept` when
 * present, else `application/jsonl` among `Accept`'s types. Such an answer cannot be answered by the
 * single-call path, nor stored and replayed under an Idempotency-Key (nor searched for a secret it
 * must not keep).
 */
export function answersAsStream(header: (name: string) => string | undefined): boolean {
  const trpcAccept = header('trpc-accept');
  if (trpcAccept !== undefined) return trpcAccept === 'application/jsonl';
  return (header('accept') ?? '').split(',').some((type) => type.trim() === 'application/jsonl');
}
