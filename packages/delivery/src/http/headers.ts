/*
 * The one rule for an endpoint's custom request headers. The endpoints API refuses a header that
 * breaks it (400 when the endpoint is created or updated); the sender checks it again before every
 * attempt, for values stored before the rule existed. A header the API accepts is a header the
 * sender sends, byte for byte.
 */

/** Valid field names: RFC 9110 §5.6.2 `token = 1*tchar`. */
export const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/*
 * Values: exactly what undici sends. undici (like node:http) accepts HTAB, SP, VCHAR and obs-text,
 * i.e. the code points U+0009, U+0020–U+007E and U+0080–U+00FF, throws InvalidArgumentError for
 * anything else, and writes the header block with `socket.write(…, 'latin1')`: one byte per code
 * point, the code point's own value.
 *
 * Non-ASCII is therefore accepted as ISO-8859-1 and nothing else: 'Zoë' written with U+00EB goes
 * on the wire as the byte 0xEB, which receivers that read header bytes as ISO-8859-1 (node:http,
 * Python's http.server) see as 'Zoë' again, and which RFC 9110 (obs-text) tells every recipient to
 * keep as opaque data. Code points above U+00FF have no such byte. We refuse them rather than
 * encode them, because receivers agree on no encoding (UTF-8 bytes read as ISO-8859-1 arrive as
 * 'ZoÃ«'); a tenant who needs them picks one explicitly, e.g. percent-encoding as in RFC 8187.
 * Among them: emoji, most scripts, and the combining diaeresis of a decomposed 'Zoë'
 * (e + U+0308), which looks exactly like the one above.
 * CR, LF and NUL would split or end the header block (header injection); the other controls are
 * refused by undici like everything outside the set.
 */
/** Valid field values, as explained above. */
export const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;
const LINE_BREAK_OR_NUL = /[\r\n\0]/;
const CONTROL = /[\x01-\x08\x0b-\x1f\x7f]/;

/**
 * Framing and identity headers the sender sets or leaves to undici itself. undici refuses several
 * of them outright (transfer-encoding, keep-alive, upgrade, a second host or content-length), and
 * the others would describe a request we do not send.
 */
export const SENDER_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'te',
  'trailer',
]);

/**
 * Headers the sender drops from the headers it is given: its own (above) and `proxy-*`, which
 * belong to proxies. Everything else it is given, Herald's signed `webhook-*` headers included,
 * goes out as is.
 */
export function isSenderHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return SENDER_HEADERS.has(lower) || lower.startsWith('proxy-');
}

/**
 * Set by Herald, so an endpoint's custom headers may not name them (case-insensitively): the
 * sender's headers, `proxy-*`, and `webhook-*`, the Standard Webhooks headers Herald signs.
 */
export function isReservedHeader(name: string): boolean {
  return isSenderHeader(name) || name.toLowerCase().startsWith('webhook-');
}

/** Why `name` is not a valid field name, or null. */
export function headerNameProblem(name: string): string | null {
  return HEADER_NAME_PATTERN.test(name) ? null : "not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)";
}

/** Why `value` cannot be sent as a field value, or null. */
export function headerValueProblem(value: string): string | null {
  if (HEADER_VALUE_PATTERN.test(value)) return null;
  if (LINE_BREAK_OR_NUL.test(value)) return 'header values may not contain line breaks or NUL';
  if (CONTROL.test(value)) return 'header values may not contain control characters';
  return 'header values may only contain characters up to U+00FF (ISO-8859-1); percent-encode anything else';
}

/** Why an endpoint may not carry the custom header `name: value`, or null: the endpoints API's rule. */
export function customHeaderProblem(name: string, value: string): string | null {
  const nameProblem = headerNameProblem(name);
  if (nameProblem) return nameProblem;
  if (isReservedHeader(name)) return `${name.toLowerCase()} is set by Herald`;
  return headerValueProblem(value);
}
