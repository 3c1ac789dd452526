// A small Server-Sent Events reader for tests: opens a stream with headers (unlike EventSource), parses
// events and comment lines as they arrive, and waits for what a test expects. node:http on a connection
// of its own, not fetch: fetch's pool opens a spare connection beside a long response, which then sits
// without a request and keeps the server from closing until its request timeout.
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: Headers;
  /** Events so far, in order. */
  readonly events: SseEvent[];
  /** Comment lines so far (heartbeats). */
  comments(): number;
  /** The body of a refusal (problem+json), when status is not 200. */
  problem?: Record<string, unknown>;
  /** Resolves with the events once there are `count` of them (all, not only new ones). */
  waitForEvents(count: number, timeoutMs?: number): Promise<SseEvent[]>;
  /** Resolves once at least `count` comment lines have come. */
  waitForComments(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** The client goes away. */
  close(): void;
}

export function parseBlock(block: string): SseEvent | 'comment' | undefined {
  const lines = block.split('\n').filter((line) => line !== '');
  if (lines.length === 0) return undefined;
  if (lines.every((line) => line.startsWith(':'))) return 'comment';
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of lines) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  return { id, event, data: data.join('\n') };
}

/** Like fetch's Headers, enough for tests. */
function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false, signal: abort.signal }, resolve);
    req.on('error', reject);
    req.end();
  });
  const events: SseEvent[] = [];
  let comments = 0;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((check) => check());

  const waitUntil = (done: () => boolean, what: string, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (!done()) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(events.map((e) => e.id))} and ${comments} comments`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });

  let problem: Record<string, unknown> | undefined;
  const ended = new Promise<void>((resolve) => {
    response.on('close', resolve);
    response.on('error', () => resolve()); // aborted by the client, or the connection broke
  });
  if (response.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    try {
      problem = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      problem = undefined;
    }
  } else {
    let buffered = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffered += chunk.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const parsed = parseBlock(buffered.slice(0, end));
        buffered = buffered.slice(end + 2);
        if (parsed === 'comment') comments++;
        else if (parsed) events.push(parsed);
      }
      notify();
    });
  }

  return {
    status: response.statusCode ?? 0,
    headers: headersOf(response),
    events,
    comments: () => comments,
    ...(problem ? { problem } : {}),
    async waitForEvents(count, timeoutMs = 10_000) {
      await waitUntil(() => events.length >= count, `${count} events`, timeoutMs);
      return events.slice(0, count);
    },
    waitForComments: (count, timeoutMs = 10_000) => waitUntil(() => comments >= count, `${count} comments`, timeoutMs),
    ended,
    close: () => abort.abort(),
  };
}
