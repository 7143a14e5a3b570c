import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * OWASP's scrypt parameters (N=2^17, r=8, p=1). They need 128 MiB, above
 * Node's default `maxmem`, hence the explicit limit.
 */
export const passwordHashParams = { N: 2 ** 17, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;
const MAXMEM = 256 * 1024 * 1024;

function deriveKey(password: string, salt: Buffer, params: { N: number; r: number; p: number; keyLength: number }) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      params.keyLength,
      { N: params.N, r: params.r, p: params.p, maxmem: MAXMEM },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

/** PHC string format: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (base64, no padding). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(passwordHashParams.saltLength);
  const key = await deriveKey(password, salt, passwordHashParams);
  const ln = Math.log2(passwordHashParams.N);
  return `$scrypt$ln=${ln},r=${passwordHashParams.r},p=${passwordHashParams.p}$${b64(salt)}$${b64(key)}`;
}

export function parsePasswordHash(encoded: string) {
  const match = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
  if (!match) return null;
  const [, ln, r, p, salt, hash] = match;
  return {
    N: 2 ** Number(ln),
    r: Number(r),
    p: Number(p),
    salt: Buffer.from(salt!, 'base64'),
    hash: Buffer.from(hash!, 'base64'),
  };
}

export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parsePasswordHash(encoded);
  if (!parsed) return false;
  const key = await deriveKey(password, parsed.salt, { ...parsed, keyLength: parsed.hash.length });
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

let dummyHash: Promise<string> | null = null;

/**
 * Spends the same work as a real check, so a login for an unknown user takes
 * as long as one with a wrong password and does not reveal who exists.
 */
export async function burnPasswordCheck(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(password, await dummyHash);
  return false;
}

function b64(buf: Buffer) {
  return buf.toString('base64').replace(/=+$/, '');
}
