/** What stands in an answer's excerpt for a value this request sent that the tenant's readers may not see. */
export const REDACTED_IN_ANSWER = '[redacted]';

/** Header values shorter than this are left in an excerpt: too short to be a secret, common as words. */
const MIN_REDACTED_LENGTH = 8;

/** The shortest start of a value, left at the very end of a cut-off excerpt, that is redacted too. */
const MIN_CUT_OFF_LENGTH = 4;

/** Sent headers whose values are not secret: the message id, its timestamp, and Herald's own framing. */
const PUBLIC_SENT_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'content-type', 'user-agent']);

/** Parts of one value looked for apart (`Bearer <token>`, a rotation's `v1,<sig> v1,<sig>`). */
const MAX_PARTS_PER_VALUE = 8;

/**
 * The receiver's answer without the secret values this request carried: a receiver that echoes the
 * request (a debugging endpoint, an error page quoting headers) would otherwise store the endpoint's
 * custom header values (an `Authorization` the tenant set for its receiver) and the signature in
 * the attempt log, which the portal and the API show where the endpoint shows those values hidden.
 * Each value is replaced as sent, as a JSON string would quote it (also with `/` escaped, as PHP's
 * `json_encode` writes it), percent-encoded (`encodeURIComponent`), and (for `Bearer x`, `v1,sig`)
 * its first parts alone. When the body was `cut` at the size cap, the start of a value left at its
 * very end goes too.
 *
 * A tenant sets up to 20 values of 1,000 characters and a receiver chooses the body: a form is
 * searched for only when its first characters occur in the body (one pass over the body's
 * 8-character windows), and the cut-off check only when its first 4 occur in the body's tail.
 */
export function withoutSentSecrets(body: string, headers: Record<string, string>, cut: boolean): string {
  const forms = new Set<string>();
  const raw = new Set<string>();
  for (const [name, value] of Object.entries(headers)) {
    if (PUBLIC_SENT_HEADERS.has(name)) continue;
    for (const secret of rawSecretsOf(value)) {
      raw.add(secret);
      for (const form of formsOf(secret)) forms.add(form);
    }
  }
  if (forms.size === 0 || body.length < MIN_CUT_OFF_LENGTH) return body;
  // Longest first: a value is replaced whole before a part of it is.
  const longestFirst = [...forms].sort((a, b) => b.length - a.length);
  // Each form as it is first (a value may itself hold escape-like text: `sig=abc%2Bdef`), then,
  // where escapes are left, the body decoded.
  let out = withoutForms(body, longestFirst);
  if (ESCAPE.test(out)) out = withoutEscapedSecrets(out, [...raw]);
  if (cut) for (const secret of longestFirst) out = withoutCutOffStart(out, secret);
  return out;
}

/** `body` with each of `forms` (longest first) replaced wherever it occurs as it is. */
function withoutForms(body: string, forms: string[]): string {
  const windows = forms.length > 16 ? windowsOf(body) : null;
  let out = body;
  for (const secret of forms) {
    if (windows && !windows.has(secret.slice(0, MIN_REDACTED_LENGTH))) continue;
    if (out.includes(secret)) out = out.split(secret).join(REDACTED_IN_ANSWER);
  }
  return out;
}

/**
 * Escapes other encoders write that the forms above do not: JSON's `\uXXXX` for any character
 * (ASP.NET's System.Text.Json writes `+` as `\u002B`, Gson `=` as `\u003d`), percent-escapes in
 * either case, HTML character references. Base64 values nearly always hold `+`, `/` or `=`.
 */
const ESCAPE =
  /\\u[0-9a-fA-F]{4}|\\["\\/bfnrt]|%[0-9a-fA-F]{2}|&#[xX][0-9a-fA-F]{1,6};|&#[0-9]{1,7};|&(?:quot|amp|lt|gt|apos);/;
const ESCAPES = new RegExp(ESCAPE.source, 'g');
const JSON_SHORT: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const HTML_NAMED: Record<string, string> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

function decodeEscape(written: string): string {
  if (written.startsWith('\\u')) return String.fromCharCode(Number.parseInt(written.slice(2), 16));
  if (written.startsWith('\\')) return JSON_SHORT[written[1]!] ?? written[1]!;
  if (written.startsWith('%')) return String.fromCharCode(Number.parseInt(written.slice(1), 16));
  if (written.startsWith('&#x') || written.startsWith('&#X'))
    return safeCodePoint(Number.parseInt(written.slice(3, -1), 16));
  if (written.startsWith('&#')) return safeCodePoint(Number.parseInt(written.slice(2, -1), 10));
  return HTML_NAMED[written.slice(1, -1)] ?? written;
}

function safeCodePoint(n: number): string {
  return n <= 0x10ffff ? String.fromCodePoint(n) : '\ufffd';
}

/**
 * `text` with every occurrence of a secret redacted where it is written with escapes: matched in
 * a copy with the escapes decoded (one pass, not chained), each match's span mapped back to the
 * characters it came from.
 */
function withoutEscapedSecrets(text: string, secrets: string[]): string {
  let decoded = '';
  // The index in `text` where each character of `decoded` begins, and (last entry) its end.
  const starts: number[] = [];
  let last = 0;
  for (const match of text.matchAll(ESCAPES)) {
    for (let i = last; i < match.index; i++) starts.push(i);
    decoded += text.slice(last, match.index);
    const char = decodeEscape(match[0]);
    for (let i = 0; i < char.length; i++) starts.push(match.index);
    decoded += char;
    last = match.index + match[0].length;
  }
  for (let i = last; i < text.length; i++) starts.push(i);
  decoded += text.slice(last);
  starts.push(text.length);
  const spans: Array<[number, number]> = [];
  const windows = secrets.length > 16 ? windowsOf(decoded) : null;
  // A part inside a value taken whole adds a span within its span, merged below.
  for (const secret of secrets) {
    if (windows && !windows.has(secret.slice(0, MIN_REDACTED_LENGTH))) continue;
    for (let at = decoded.indexOf(secret); at !== -1; at = decoded.indexOf(secret, at + secret.length)) {
      spans.push([starts[at]!, nextStart(starts, at + secret.length)]);
    }
  }
  if (spans.length === 0) return text;
  spans.sort((a, b) => a[0] - b[0]);
  let out = '';
  let from = 0;
  for (const [start, end] of spans) {
    if (start < from) {
      from = Math.max(from, end); // overlapping an earlier span: one marker for both
      continue;
    }
    out += `${text.slice(from, start)}${REDACTED_IN_ANSWER}`;
    from = end;
  }
  return out + text.slice(from);
}

/** Where the decoded character at `i` begins in the text (the end for one past the last). */
function nextStart(starts: number[], i: number): number {
  // Several decoded characters can share one escape (a surrogate pair from `&#x1F600;`): skip to the next.
  let end = starts[i]!;
  while (i > 0 && i < starts.length - 1 && starts[i] === starts[i - 1]) end = starts[++i]!;
  return end;
}

/** Every `MIN_REDACTED_LENGTH`-character window of `text`. */
function windowsOf(text: string): Set<string> {
  const windows = new Set<string>();
  for (let i = 0; i + MIN_REDACTED_LENGTH <= text.length; i++) windows.add(text.slice(i, i + MIN_REDACTED_LENGTH));
  return windows;
}

/** An excerpt cut off by the size cap may end with the start of a value: that start goes too. */
function withoutCutOffStart(text: string, secret: string): string {
  // A start of 4 or more at the end begins within the last `secret.length - 1` characters.
  const from = text.length - (secret.length - 1);
  if (text.indexOf(secret.slice(0, MIN_CUT_OFF_LENGTH), Math.max(0, from)) === -1) return text;
  const length = startOfAtEnd(text, secret);
  return length >= MIN_CUT_OFF_LENGTH ? `${text.slice(0, text.length - length)}${REDACTED_IN_ANSWER}` : text;
}

/**
 * The length of the longest start of `secret`, shorter than it, that `text` ends with: KMP over
 * the last `secret.length - 1` characters of `text` (O(length), where trying each length was
 * O(length²)).
 */
function startOfAtEnd(text: string, secret: string): number {
  const m = secret.length;
  if (m < 2) return 0;
  const fallback = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && secret[i] !== secret[k]) k = fallback[k - 1]!;
    if (secret[i] === secret[k]) k++;
    fallback[i] = k;
  }
  let k = 0;
  for (let i = Math.max(0, text.length - (m - 1)); i < text.length; i++) {
    while (k > 0 && text[i] !== secret[k]) k = fallback[k - 1]!;
    if (text[i] === secret[k]) k++;
    if (k === m) k = fallback[m - 1]!;
  }
  return k;
}

/** A value and its parts as sent: several signatures (a rotation), each `v1,<base64>`; `Bearer <token>`. */
function rawSecretsOf(value: string): string[] {
  const secrets = new Set<string>();
  const add = (text: string) => {
    if (text.length >= MIN_REDACTED_LENGTH) secrets.add(text);
  };
  add(value);
  for (const part of value.split(/\s+/, MAX_PARTS_PER_VALUE)) {
    add(part);
    add(part.slice(part.indexOf(',') + 1));
  }
  return [...secrets];
}

/** A secret as sent, as a JSON string quotes it (also with `/` escaped), and percent-encoded. */
function formsOf(secret: string): string[] {
  const quoted = JSON.stringify(secret).slice(1, -1);
  return [secret, quoted, quoted.replaceAll('/', '\\/'), encodeURIComponent(secret)];
}

/**
 * A Standard Webhooks signature (`v1,` and 43 base64 characters of an HMAC-SHA256, then `=`), as
 * written or as a JSON, URL or HTML encoder escapes it (Go's `html/template` writes `+` as `&#43;`).
 * For answers recorded without the request they answer (`herald listen` reports them later, from
 * another process): their signature is not known. Also one cut short by the excerpt's end.
 */
const SIG_COMMA = String.raw`(?:,|%2[cC]|\\u002[cC]|&#44;|&#[xX]0*2[cC];)`;
const SIG_CHAR = String.raw`(?:[A-Za-z0-9]|\+|%2[bB]|\\u002[bB]|&#43;|&#[xX]0*2[bB];|\\?\/|%2[fF]|\\u002[fF]|&#47;|&#[xX]0*2[fF];)`;
const SIG_PAD = String.raw`(?:=|%3[dD]|\\u003[dD]|&#61;|&#[xX]0*3[dD];)`;
const SIGNATURE = new RegExp(`v1${SIG_COMMA}${SIG_CHAR}{43}${SIG_PAD}?`, 'g');
const SIGNATURE_CUT_SHORT = new RegExp(`v1${SIG_COMMA}${SIG_CHAR}{4,42}$`);

/** Excerpts this long or longer were cut at the reporter's cap (4 KB): a value may end them, cut short. */
const CUT_AT_CHARS = 4_000;

/** `withoutSentSecrets` for an answer whose request's signature is not known: every signature goes. */
export function withoutSecretsOf(body: string, customHeaders: Record<string, string>): string {
  const cut = body.length >= CUT_AT_CHARS;
  let out = body.replace(SIGNATURE, `v1,${REDACTED_IN_ANSWER}`);
  if (cut) out = out.replace(SIGNATURE_CUT_SHORT, `v1,${REDACTED_IN_ANSWER}`);
  return withoutSentSecrets(out, customHeaders, cut);
}
