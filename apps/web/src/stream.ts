// The live balance (GET …/balance/stream, Server-Sent Events). EventSource cannot send the
// Authorization header the gateway checks, so this reads the stream with fetch and parses the
// events itself, reconnecting with Last-Event-ID so that no change is missed or repeated.
import { authorized, type Balance } from './api.ts';

export interface BalanceStream {
  close(): void;
}

/** Calls `onBalance` with the current balance, then after every change, until closed. */
export function watchBalance(accountId: string, onBalance: (balance: Balance) => void, onState?: (live: boolean) => void): BalanceStream {
  const controller = new AbortController();
  let lastId: string | undefined;
  let closed = false;

  const connect = async (): Promise<void> => {
    const path = `/v1/accounts/${encodeURIComponent(accountId)}/balance/stream`;
    const response = await authorized('GET', path, lastId ? { lastEventId: lastId, signal: controller.signal } : { signal: controller.signal });
    if (!response.body) throw new Error('no stream body');
    onState?.(true);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = parseEvent(block);
        if (event.id) lastId = event.id;
        if (event.type === 'balance' && event.data) onBalance(JSON.parse(event.data) as Balance);
      }
    }
  };

  void (async () => {
    let delay = 500;
    while (!closed) {
      try {
        await connect();
        delay = 500;
      } catch {
        if (closed) return;
      }
      onState?.(false);
      if (closed) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  })();

  return {
    close() {
      closed = true;
      controller.abort();
    },
  };
}

function parseEvent(block: string): { id?: string; type: string; data?: string } {
  const event: { id?: string; type: string; data?: string } = { type: 'message' };
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') event.id = value;
    else if (field === 'event') event.type = value;
    else if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
  }
  return event;
}
