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
  for (const [name, value] of Object.entries(headers)) {
    if (!PUBLIC_SENT_HEADERS.has(name)) for (const form of secretFormsOf(value)) forms.add(form);
  }
  if (forms.size === 0 || body.length < MIN_CUT_OFF_LENGTH) return body;
  const windows = forms.size > 16 ? windowsOf(body) : null;
  let out = body;
  // Longest first: a value is replaced whole before a part of it is.
  for (const secret of [...forms].sort((a, b) => b.length - a.length)) {
    if (!windows || windows.has(secret.slice(0, MIN_REDACTED_LENGTH))) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED_IN_ANSWER);
    }
    if (cut) out = withoutCutOffStart(out, secret);
  }
  return out;
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

function secretFormsOf(value: string): string[] {
  const forms = new Set<string>();
  const add = (text: string) => {
    if (text.length < MIN_REDACTED_LENGTH) return;
    forms.add(text);
    const quoted = JSON.stringify(text).slice(1, -1);
    forms.add(quoted);
    forms.add(quoted.replaceAll('/', '\\/'));
    forms.add(encodeURIComponent(text));
  };
  add(value);
  // Several signatures (a rotation), each `v1,<base64>`; `Bearer <token>`, `Basic <credentials>`.
  for (const part of value.split(/\s+/, MAX_PARTS_PER_VALUE)) {
    add(part);
    add(part.slice(part.indexOf(',') + 1));
  }
  return [...forms];
}
