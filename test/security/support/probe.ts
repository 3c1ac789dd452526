// Helpers of the API security suite: one HTTP call that scans every JSON answer for secrets and
// other people's data, a tally of cases and violations per category, and raw-socket clients for the
// slow-client checks.
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  body: { code?: string; [key: string]: unknown };
  text: string;
  headers: Headers;
}

/** Cases and violations per category; printed at the end of the suite. */
export class Tally {
  readonly cases = new Map<string, number>();
  readonly violations: string[] = [];

  count(category: string, n = 1): void {
    this.cases.set(category, (this.cases.get(category) ?? 0) + n);
  }

  /** One case: `ok` false records a violation instead of throwing, so one run reports them all. */
  check(category: string, ok: boolean, what: string): void {
    this.count(category);
    if (!ok) this.violations.push(`[${category}] ${what}`);
  }

  report(): string {
    const lines = [...this.cases.entries()].map(([category, n]) => `  ${category.padEnd(22)} ${String(n).padStart(5)} cases`);
    return ['API security suite:', ...lines, `  violations: ${this.violations.length}`, ...this.violations.map((v) => `    ${v}`)].join('\n');
  }
}

// Fields that must never leave a service, whoever asks.
const secretKeys = /^(password|passwordHash|password_hash|hash|salt|secret|totpSecret|totp_secret|client_secret|clientSecret|private_jwk|privateJwk|privateKey|private_key|refreshTokenHash|token_hash|tokenHash|codeHash|code_hash|d|p|q|dp|dq|qi|encryptionKey)$/;
const secretPatterns = [/\$argon2/, /\$2[aby]\$\d/, /\$scrypt\$/, /-----BEGIN [A-Z ]*PRIVATE KEY/, /\bscrypt:/];

/** Who is asking and what of others they must not see (user ids, unmasked names, handles of no concern). */
export interface Viewer {
  token?: string;
  /** Strings that must not appear in any answer this caller gets. */
  foreign: string[];
}

export class Prober {
  constructor(
    readonly tally: Tally,
    /** Keys allowed in the answers of these paths (the caller's own tokens from the token endpoint). */
    private readonly allowedKeys: Record<string, string[]> = { '/v1/auth/token': ['access_token', 'refresh_token'] },
  ) {}

  scan(path: string, text: string, viewer: Viewer | undefined): void {
    // The API descriptions name fields (password, secret) in their schemas; they carry no data.
    if (path.split('?')[0] === '/openapi.json') return;
    if (!text.startsWith('{') && !text.startsWith('[')) return;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const allowed = this.allowedKeys[path.split('?')[0]!] ?? [];
    const found: string[] = [];
    const walk = (value: unknown, at: string) => {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}[${i}]`));
      else if (value !== null && typeof value === 'object') {
        for (const [key, v] of Object.entries(value)) {
          if (secretKeys.test(key) && !allowed.includes(key)) found.push(`${at}.${key}`);
          walk(v, `${at}.${key}`);
        }
      } else if (typeof value === 'string' && secretPatterns.some((p) => p.test(value))) found.push(`${at} (secret-looking value)`);
    };
    walk(json, '$');
    for (const foreign of viewer?.foreign ?? []) if (foreign && text.includes(foreign)) found.push(`another person's data: ${foreign}`);
    this.tally.check('response scan', found.length === 0, `${path}: ${found.join(', ')}`);
  }

  async call(base: string, method: string, path: string, viewer: Viewer | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const withBody = body !== undefined;
    const response = await fetch(new URL(path, base), {
      method,
      headers: {
        ...(viewer?.token ? { authorization: `Bearer ${viewer.token}` } : {}),
        ...(withBody ? { 'content-type': 'application/json' } : {}),
        ...(method === 'POST' && !('idempotency-key' in headers) ? { 'idempotency-key': randomUUID() } : {}),
        ...headers,
      },
      body: withBody ? (typeof body === 'string' ? body : JSON.stringify(body)) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
    // A stream (SSE) that opens must not hang the suite: read only what is there now.
    const text = response.headers.get('content-type')?.startsWith('text/event-stream') ? (await response.body?.cancel(), '') : await response.text();
    this.scan(path, text, viewer);
    let parsed: Answer['body'] = {};
    try {
      parsed = text.startsWith('{') ? JSON.parse(text) : { text };
    } catch {
      parsed = { text };
    }
    return { status: response.status, body: parsed, text, headers: response.headers };
  }
}

/** A raw socket to host:port; resolves once connected. */
export function openSocket(base: string): Promise<Socket> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Sends a request's headers and then its body one byte every `intervalMs`; resolves with the time
 * (ms after the start) at which the server ended the connection, and what it answered (if anything).
 */
export async function trickle(base: string, path: string, token: string, intervalMs: number): Promise<{ closedAfterMs: number; answer: string }> {
  const socket = await openSocket(base);
  const started = Date.now();
  const body = JSON.stringify({ padding: 'x'.repeat(2000) });
  const url = new URL(base);
  socket.write(
    `POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\nidempotency-key: ${randomUUID()}\r\ncontent-length: ${body.length}\r\n\r\n`,
  );
  let answer = '';
  socket.on('data', (chunk) => (answer += chunk.toString()));
  socket.on('error', () => undefined);
  let sent = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || sent >= body.length) return;
    socket.write(body[sent++]!);
  }, intervalMs);
  return new Promise((resolve) => {
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, answer: answer.split('\r\n')[0] ?? '' });
    });
  });
}

/** A slowloris connection: a request line and a header, then one more header line now and then. */
export async function slowloris(base: string, intervalMs: number): Promise<Socket> {
  const socket = await openSocket(base);
  socket.on('error', () => undefined);
  socket.write(`GET /healthz HTTP/1.1\r\nhost: ${new URL(base).host}\r\n`);
  let n = 0;
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(`x-slow-${n++}: 1\r\n`);
  }, intervalMs);
  socket.once('close', () => clearInterval(timer));
  return socket;
}
