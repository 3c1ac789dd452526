// Send money: choose the account, the payee (alias or account id) and the amount; the payee's
// masked name is shown before anything is sent. One idempotency key per attempt: it is made when
// the transfer is reviewed and kept for every click and retry until the API gives an answer, so a
// double click or a retry after a network error sends once.
import { useRef, useState, type FormEvent } from 'react';
import { api, ApiError, type Account, type Payee, type Transfer } from '../api.ts';
import { digitsOf } from '../currencies.ts';
import { newKey } from '../keys.ts';
import { formatMinor, parseMajor } from '../money.ts';
import { describe, ErrorText, Field, Money, Section, Status, useLoad } from '../ui.tsx';

interface Review {
  from: Account;
  to: { alias: string } | { accountId: string };
  payee?: Payee;
  amount: bigint;
  description: string;
  key: string;
}

const looksLikeAccountId = (text: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);

const amountHint = (digits: number) => (digits === 0 ? 'Whole units, like 1050' : `Like 10.${'5'.padEnd(digits, '0')}`);

export function Send() {
  const accounts = useLoad(() => api.accounts().then((all) => all.filter((a) => a.status === 'active')));
  const [fromId, setFromId] = useState('');
  const [to, setTo] = useState('');
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  const [review, setReview] = useState<Review>();
  const [error, setError] = useState<string>();
  const [retryable, setRetryable] = useState(false);
  const [done, setDone] = useState<Transfer>();
  const [busy, setBusy] = useState(false);
  // Guards against a second click before React has re-rendered; the button stays focusable.
  const inFlight = useRef(false);

  const from = accounts.data?.find((a) => a.id === fromId) ?? accounts.data?.[0];
  const edited = () => {
    setReview(undefined);
    setRetryable(false);
    setError(undefined);
  };

  const prepare = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setDone(undefined);
    if (!from) return setError('Open an account first.');
    const parsed = parseMajor(amount, digitsOf(from.currency));
    if (!parsed.ok) return setError(parsed.reason);
    const target = to.trim();
    if (!target) return setError('Enter who to pay: an alias like @bob, an e-mail, a phone number or an account id.');
    setBusy(true);
    try {
      if (looksLikeAccountId(target)) {
        setReview({ from, to: { accountId: target }, amount: parsed.minor, description: description.trim(), key: newKey() });
      } else {
        const payee = await api.lookUp(target, from.currency);
        setReview({ from, to: { alias: target }, payee, amount: parsed.minor, description: description.trim(), key: newKey() });
      }
    } catch (err) {
      setError(describe(err, from.currency));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async () => {
    if (!review || inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setError(undefined);
    try {
      const transfer = await api.send(
        { fromAccountId: review.from.id, to: review.to, amount: review.amount.toString(), currency: review.from.currency, ...(review.description ? { description: review.description } : {}) },
        review.key,
      );
      setDone(transfer);
      setReview(undefined);
      setRetryable(false);
      setAmount('');
      setDescription('');
    } catch (err) {
      // A refusal is final for this key; no answer (or the gateway timing out) may still have gone
      // through, so the retry reuses the key and the API replays instead of sending again.
      const unsure = !(err instanceof ApiError) || err.problem.code === 'upstream_timeout' || err.problem.code === 'idempotency_request_in_progress';
      setRetryable(unsure);
      if (!unsure) setReview(undefined);
      setError(describe(err, review.from.currency));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  return (
    <Section title="Send money">
      {accounts.data?.length === 0 && <p>Open an account first.</p>}
      <form onSubmit={prepare}>
        <div className="field">
          <label htmlFor="from">From</label>
          <select id="from" name="from" value={from?.id ?? ''} onChange={(e) => (setFromId(e.target.value), edited())}>
            {accounts.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.currency})
              </option>
            ))}
          </select>
        </div>
        <Field label="To" name="to" hint="@handle, e-mail, +phone, random key or account id" autoComplete="off" required value={to} onChange={(e) => (setTo(e.target.value), edited())} />
        <Field
          label={`Amount${from ? ` in ${from.currency}` : ''}`}
          name="amount"
          inputMode="decimal"
          autoComplete="off"
          hint={from ? amountHint(digitsOf(from.currency)) : undefined}
          required
          value={amount}
          onChange={(e) => (setAmount(e.target.value), edited())}
        />
        <Field label="Description (optional)" name="description" maxLength={200} value={description} onChange={(e) => (setDescription(e.target.value), edited())} />
        {!review && (
          <button type="submit" disabled={busy}>
            Review
          </button>
        )}
      </form>
      {review && (
        <div className="confirm" role="group" aria-label="Confirm the transfer">
          <p>
            Send <Money minor={review.amount.toString()} currency={review.from.currency} /> from {review.from.name} to{' '}
            {review.payee ? (
              <strong className="payee">
                {review.payee.displayName} ({review.payee.alias})
              </strong>
            ) : (
              <strong className="payee">account {'accountId' in review.to ? review.to.accountId : ''}</strong>
            )}
            ?
          </p>
          <div className="row">
            {/* Focus moves here from the Review button, which is gone now. */}
            <button type="button" autoFocus onClick={() => void confirm()} aria-disabled={busy}>
              {busy ? 'Sending…' : retryable ? 'Retry sending' : 'Send'}
            </button>
            <button type="button" className="secondary" onClick={edited} disabled={busy}>
              Change
            </button>
          </div>
          {retryable && <p className="small">Retrying is safe: it repeats the same request, which the wallet carries out at most once.</p>}
        </div>
      )}
      <ErrorText error={error} />
      <Status text={done ? `Sent. Your balance is now ${formatMinor(BigInt(done.source?.balanceAfter ?? '0'), digitsOf(done.currency))} ${done.currency}.` : undefined} />
    </Section>
  );
}
