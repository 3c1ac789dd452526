// One account's balance, kept current by the balance stream (or, past the first few accounts, by
// asking every 10 s: over HTTP/1.1 a browser opens at most 6 connections to an origin, and each open
// stream holds one); announced politely when it changes.
import { useEffect, useState } from 'react';
import { api, type Balance } from '../api.ts';
import { watchBalance } from '../stream.ts';
import { Money } from '../ui.tsx';

export const STREAMS_MAX = 3;
const POLL_MS = 10_000;

export function LiveBalance({ accountId, currency, stream }: { accountId: string; currency: string; stream: boolean }) {
  const [balance, setBalance] = useState<Balance>();
  const [live, setLive] = useState(false);
  useEffect(() => {
    if (stream) {
      const watching = watchBalance(accountId, setBalance, setLive);
      return () => watching.close();
    }
    const poll = () =>
      api.balance(accountId).then(
        (b) => (setBalance(b), setLive(true)),
        () => setLive(false),
      );
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => clearInterval(timer);
  }, [accountId, stream]);

  return (
    <div className="balance" data-account={accountId}>
      <p className="available" aria-live="polite" aria-atomic="true">
        <span className="label">Available </span>
        {balance ? <Money minor={balance.available} currency={currency} /> : <span>…</span>}
      </p>
      {balance && balance.pending !== '0' && (
        <p className="small">
          Reserved by holds: <Money minor={balance.pending} currency={currency} />
        </p>
      )}
      <p className="small">
        <span className={`dot ${live ? 'on' : 'off'}`} aria-hidden="true" />
        {live ? (stream ? 'Live' : 'Updated every 10 s') : 'Reconnecting…'}
      </p>
    </div>
  );
}
