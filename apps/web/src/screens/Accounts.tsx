// The person's accounts, each with its live balance, and a form to open one in a currency.
import { useState, type FormEvent } from 'react';
import { api, type Account } from '../api.ts';
import { commonCurrencies, currencyName } from '../currencies.ts';
import { describe, ErrorText, Field, Section, Status, useLoad } from '../ui.tsx';
import { LiveBalance, STREAMS_MAX } from './LiveBalance.tsx';

export function Accounts() {
  const accounts = useLoad(() => api.accounts());
  const [currency, setCurrency] = useState('USD');
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);

  const open = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const account = await api.openAccount(currency.trim().toUpperCase(), name.trim() || undefined);
      setStatus(`Opened ${account.name}.`);
      setName('');
      accounts.reload();
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Section title="Your accounts">
        <ErrorText error={accounts.error} />
        {accounts.data?.length === 0 && <p>No accounts yet: open one below.</p>}
        <ul className="accounts">
          {accounts.data?.map((account, index) => (
            <li key={account.id} className="account">
              <h3>
                {account.name} <span className="tag">{account.currency}</span>
                {account.status !== 'active' && <span className="tag warn">{account.status}</span>}
              </h3>
              <LiveBalance accountId={account.id} currency={account.currency} stream={index < STREAMS_MAX} />
              <p className="small">
                Account id <code className="account-id">{account.id}</code>
              </p>
              <Rename account={account} onDone={accounts.reload} />
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Open an account">
        <form onSubmit={open}>
          <Field label="Currency" name="currency" hint={`ISO 4217 code — ${currencyName(currency.toUpperCase())}`} list="currencies" maxLength={3} required value={currency} onChange={(e) => setCurrency(e.target.value)} />
          <datalist id="currencies">
            {commonCurrencies.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
          <Field label="Name (optional)" name="accountName" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
          <ErrorText error={error} />
          <Status text={status} />
          <button type="submit" disabled={busy}>
            Open account
          </button>
        </form>
      </Section>
    </>
  );
}

function Rename({ account, onDone }: { account: Account; onDone: () => void }) {
  const [open, setOpen] = useState(false);
  const [name, setName] = useState(account.name);
  const [error, setError] = useState<string>();

  const save = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      await api.renameAccount(account.id, name.trim());
      setOpen(false);
      onDone();
    } catch (err) {
      setError(describe(err));
    }
  };

  if (!open) {
    return (
      <button type="button" className="link" onClick={() => setOpen(true)}>
        Rename {account.name}
      </button>
    );
  }
  return (
    <form className="row" onSubmit={save}>
      <Field label={`New name for ${account.name}`} name="rename" maxLength={60} required autoFocus value={name} onChange={(e) => setName(e.target.value)} />
      <button type="submit">Save</button>
      <button type="button" className="secondary" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorText error={error} />
    </form>
  );
}
