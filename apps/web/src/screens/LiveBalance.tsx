// One account's balance, kept current by the balance stream; announced politely when it changes.
import { useEffect, useState } from 'react';
import type { Balance } from '../api.ts';
import { watchBalance } from '../stream.ts';
import { Money } from '../ui.tsx';

export function LiveBalance({ accountId, currency }: { accountId: string; currency: string }) {
  const [balance, setBalance] = useState<Balance>();
  const [live, setLive] = useState(false);
  useEffect(() => {
    const stream = watchBalance(accountId, setBalance, setLive);
    return () => stream.close();
  }, [accountId]);

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
        {live ? 'Live' : 'Reconnecting…'}
      </p>
    </div>
  );
}
