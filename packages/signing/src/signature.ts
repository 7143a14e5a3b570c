import { createHmac } from 'node:crypto';

export const SIGNATURE_VERSION = 'v1';

/**
 * Base64 HMAC-SHA256 of `${id}.${timestamp}.${body}` — the part after `v1,`.
 * The body is fed to the HMAC separately so large payloads are never copied
 * into a concatenated string; string bodies are hashed as UTF-8.
 */
export function computeSignature(key: Uint8Array, id: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`, 'utf8').update(body).digest('base64');
}
