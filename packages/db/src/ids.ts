import { randomFillSync } from 'node:crypto';

// Crockford base32: sortable as plain ASCII, no ambiguous letters.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const idPrefixes = {
  project: 'prj',
  apiKey: 'key',
  user: 'usr',
  event: 'evt',
  endpoint: 'ep',
  endpointSecret: 'whs',
  delivery: 'dlv',
  attempt: 'att',
} as const;

export type IdKind = keyof typeof idPrefixes;

/** What a well-formed id of `kind` looks like: its prefix, then 26 base32 characters. */
export function idPattern(kind: IdKind): RegExp {
  return new RegExp(`^${idPrefixes[kind]}_[0-9a-z]{26}$`);
}

/**
 * Random bytes for ids, drawn from the CSPRNG 4 KiB at a time: one `getrandom` call per 409 ids
 * instead of one per id (`randomBytes(10)` was 2.8 % of the dispatcher's CPU, an attempt id per
 * delivery). Ids are never secrets; they only have to be unique.
 */
const RANDOM_POOL_BYTES = 4096;
const randomPool = new Uint8Array(RANDOM_POOL_BYTES);
let randomPoolAt = RANDOM_POOL_BYTES;

function random10(): Uint8Array {
  if (randomPoolAt + 10 > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomPoolAt = 0;
  }
  randomPoolAt += 10;
  return randomPool.slice(randomPoolAt - 10, randomPoolAt);
}

let lastMs = 0;
let lastRandom: Uint8Array = new Uint8Array(10);

/**
 * ULID-style id: 48-bit millisecond time + 80 random bits, base32, behind a
 * type prefix. Within one millisecond the random part is incremented so ids
 * minted by one process stay strictly increasing.
 */
export function newId(kind: IdKind, now = Date.now()): string {
  let random: Uint8Array;
  if (now <= lastMs) {
    random = incremented(lastRandom);
    now = lastMs;
  } else {
    random = random10();
  }
  lastMs = now;
  lastRandom = random;
  return `${idPrefixes[kind]}_${encodeTime(now)}${encodeRandom(random)}`;
}

/**
 * An id whose time is exactly `ms` (fresh random bits, no monotonic clamp). Rows that belong
 * together are minted at their event's time so they land in the same day partition of the
 * history tables: an event's deliveries, a delivery's attempts.
 */
export function newIdAt(kind: IdKind, ms: number): string {
  return `${idPrefixes[kind]}_${encodeTime(ms)}${encodeRandom(random10())}`;
}

/**
 * SQL for the 16 random characters of an id (after `idTimeBound(kind, ms)`), minted by the
 * database afresh for each row it is evaluated for: for an INSERT … SELECT whose row count only
 * the database knows (an event's deliveries). Its 80 random bits come from `random()`, 5 per
 * character: unique as `newIdAt`'s are; ids are never secrets (every read checks the caller's
 * project). Constant text, so a statement using it can be prepared once.
 */
export const ID_RANDOM_PART_SQL = Array.from(
  { length: 16 },
  () => `substr('${ALPHABET}', 1 + floor(random() * 32)::int, 1)`,
).join(' || ');

/** The smallest id of `kind` minted at or after `ms`: a partition bound. */
export function idTimeBound(kind: IdKind, ms: number): string {
  return `${idPrefixes[kind]}_${encodeTime(ms)}`;
}

function incremented(bytes: Uint8Array): Uint8Array {
  const next = Uint8Array.from(bytes);
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i] === 0xff) next[i] = 0;
    else {
      next[i] = next[i]! + 1;
      break;
    }
  }
  return next;
}

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits → 16 base32 characters.
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = '';
  for (let i = 0; i < 16; i++) {
    out = ALPHABET[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return out;
}

/** The creation time encoded in an id, or null when it is not one of ours. */
export function idTimestamp(id: string): Date | null {
  const body = id.slice(id.indexOf('_') + 1);
  if (body.length !== 26) return null;
  let ms = 0;
  for (const ch of body.slice(0, 10)) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return null;
    ms = ms * 32 + v;
  }
  return new Date(ms);
}
