/** Request headers as a Fetch `Headers` or a plain record such as Node's `IncomingHttpHeaders`. */
export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

/**
 * Case-insensitive single-value lookup. `name` must be lower case.
 * Arrays (repeated headers in Node) yield their first element.
 */
export function readHeader(headers: HeaderSource, name: string): string | undefined {
  const value = rawHeader(headers, name);
  if (value === undefined || isFetchHeaders(headers)) return value as string | undefined;
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/**
 * `readHeader` for a header whose repeated values are one list (`webhook-signature`): an array
 * (Node's `headersDistinct`, Lambda's `multiValueHeaders`) joined with `separator`. Only its first
 * element was read, so a valid signature after another was refused.
 */
export function readHeaderList(headers: HeaderSource, name: string, separator: string): string | undefined {
  const value = rawHeader(headers, name);
  if (!Array.isArray(value)) return typeof value === 'string' ? value : undefined;
  const strings = value.filter((v): v is string => typeof v === 'string');
  return strings.length === 0 ? undefined : strings.join(separator);
}

function rawHeader(headers: HeaderSource, name: string): string | string[] | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  if (isFetchHeaders(headers)) return headers.get(name) ?? undefined;
  // Node already lower-cases incoming header names, so try the fast path first.
  const direct = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const value = headers[key];
      if (value !== undefined) return value;
    }
  }
  return undefined;
}

// Duck-typed rather than `instanceof Headers` so Headers from another realm or
// another fetch implementation (undici, node-fetch) work too.
function isFetchHeaders(headers: HeaderSource): headers is Headers {
  return typeof (headers as { get?: unknown }).get === 'function';
}
