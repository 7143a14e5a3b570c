import type { IdKind } from '@herald/db';
import { idPattern } from '@herald/db';
import { z } from 'zod';

const names: Partial<Record<IdKind, string>> = {
  user: 'a user id',
  event: 'an event id',
  endpoint: 'an endpoint id',
  delivery: 'a delivery id',
  apiKey: 'an API key id',
};

/** The input schema of a prefixed id (`usr_…`, `ep_…`): the prefixes and the pattern live in `@herald/db`. */
export function idSchema(kind: IdKind) {
  return z.string().regex(idPattern(kind), `not ${names[kind] ?? `a ${kind} id`}`);
}
