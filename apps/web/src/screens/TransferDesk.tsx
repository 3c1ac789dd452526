// The operator's transfer desk: find a transfer by id and reverse all or part of it, with one
// idempotency key per attempt (kept when no answer came, so a retry cannot reverse twice).
import { useState, type FormEvent } from 'react';
import { api, NetworkError, type Transfer } from '../api.ts';
import { digitsOf } from '../currencies.ts';
import { newKey } from '../keys.ts';
import { parseMajor } from '../money.ts';
import { describe, ErrorText, Field, Money, Section, Status } from '../ui.tsx';

export function TransferDesk() {
  const [transferId, setTransferId] = useState('');
  const [transfer, setTransfer] = useState<Transfer>();
  const [amount, setAmount] = useState('');
  const [key, setKey] = useState<string>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();

  const find = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setStatus(undefined);
    try {
      setTransfer(await api.transfer(transferId.trim()));
    } catch (err) {
      setTransfer(undefined);
      setError(describe(err));
    }
  };
  const reverse = async (event: FormEvent) => {
    event.preventDefault();
    if (!transfer) return;
    setError(undefined);
    let minor: string | undefined;
    if (amount.trim()) {
      const parsed = parseMajor(amount, digitsOf(transfer.currency));
      if (!parsed.ok) return setError(parsed.reason);
      minor = parsed.minor.toString();
    }
    const attempt = key ?? newKey();
    setKey(attempt);
    try {
      const reversal = await api.reverse(transfer.id, minor, attempt);
      setKey(undefined);
      setStatus(`Reversed: transfer ${reversal.id}.`);
      setTransfer(await api.transfer(transfer.id));
    } catch (err) {
      if (!(err instanceof NetworkError)) setKey(undefined);
      setError(describe(err, transfer.currency));
    }
  };

  return (
    <Section title="Transfer">
      <form onSubmit={find} className="row">
        <Field label="Transfer id" name="operator-transfer" autoComplete="off" required value={transferId} onChange={(e) => setTransferId(e.target.value)} />
        <button type="submit">Find transfer</button>
      </form>
      <ErrorText error={error} />
      <Status text={status} />
      {transfer && (
        <>
          <dl className="facts">
            <dt>Kind</dt>
            <dd>{transfer.kind}</dd>
            <dt>Amount</dt>
            <dd>
              <Money minor={transfer.amount} currency={transfer.currency} />
            </dd>
            <dt>Reversed so far</dt>
            <dd>
              <Money minor={transfer.reversedAmount} currency={transfer.currency} />
            </dd>
            <dt>From</dt>
            <dd>
              <code>{transfer.fromAccountId}</code>
            </dd>
            <dt>To</dt>
            <dd>
              <code>{transfer.toAccountId}</code>
            </dd>
            <dt>When</dt>
            <dd>{new Date(transfer.createdAt).toLocaleString()}</dd>
          </dl>
          <form onSubmit={reverse}>
            <Field label={`Amount to reverse in ${transfer.currency}`} name="reverse-amount" hint="Leave empty to reverse all that is left" inputMode="decimal" autoComplete="off" value={amount} onChange={(e) => (setAmount(e.target.value), setKey(undefined))} />
            <button type="submit" className="danger">
              Reverse
            </button>
          </form>
        </>
      )}
    </Section>
  );
}
