import { describe, expect, it } from 'vitest';
import { hashPassword, parsePasswordHash, passwordHashParams, verifyPassword } from '../src/services/passwords';

// Each hash or check costs one scrypt derivation (~100-300 ms): few of them.
describe('password hashing (scrypt, OWASP parameters)', () => {
  it('uses N=2^17, r=8, p=1 with a 16-byte salt and a 32-byte key', () => {
    expect(passwordHashParams).toMatchObject({ N: 2 ** 17, r: 8, p: 1, saltLength: 16, keyLength: 32 });
  });

  it('hashes to a salted PHC string that verifies the password, its NFKC twin, and nothing else', async () => {
    const password = 'Pa55 wörd ﬁne';
    const [first, second] = await Promise.all([hashPassword(password), hashPassword(password)]);
    expect(first).toMatch(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    // A fresh salt per hash: equal passwords do not give equal hashes.
    expect(second).not.toBe(first);
    expect(parsePasswordHash(first)).toMatchObject({ N: 2 ** 17, r: 8, p: 1 });

    const [right, twin, wrong] = await Promise.all([
      verifyPassword(password, first),
      // 'ﬁ' (U+FB01) is 'fi' after NFKC: what a user types on another keyboard.
      verifyPassword('Pa55 wörd fine', first),
      verifyPassword('Pa55 wörd ﬁnE', first),
    ]);
    expect({ right, twin, wrong }).toEqual({ right: true, twin: true, wrong: false });
  });

  it('a stored value that is not a hash never verifies, and does not throw', async () => {
    for (const stored of ['', 'plaintext', '$scrypt$ln=17,r=8,p=1$$', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA']) {
      expect(parsePasswordHash(stored)).toBeNull();
      await expect(verifyPassword('plaintext', stored)).resolves.toBe(false);
    }
  });
});
