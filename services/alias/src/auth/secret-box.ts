// Secrets at rest (TOTP secrets): AES-256-GCM with a 96-bit random nonce, bound to a context (the
// user id) as additional data, so a ciphertext copied into another user's row does not decrypt.
// Format: "v1.<key id>.<nonce>.<ciphertext>.<tag>", base64url; the key id (8 hex characters of the
// key's SHA-256) names the key, so a wrong key is reported as such.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export interface SecretBox {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

export const SECRET_KEY_BYTES = 32;

export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== SECRET_KEY_BYTES) throw new Error(`an AES-256 key has ${SECRET_KEY_BYTES} bytes, got ${key.length}`);
  const id = keyId(key);
  return {
    seal(plaintext, context) {
      const nonce = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return ['v1', id, nonce.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
    },
    open(sealed, context) {
      const [version, sealedWith, nonce, ciphertext, tag] = sealed.split('.');
      if (version !== 'v1' || !nonce || ciphertext === undefined || !tag) throw new Error('not a sealed secret');
      if (sealedWith !== id) throw new Error(`sealed with key ${sealedWith}, not with the configured key ${id}`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(nonce, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}
