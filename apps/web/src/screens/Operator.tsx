// The operator console: one account (deposit, withdraw, freeze, its drift and lag), one transfer
// (find, reverse), and the system-wide drift and lag figures.
import { useState, type FormEvent } from 'react';
import { api, NetworkError, type Account, type Balance } from '../api.ts';
import { digitsOf } from '../currencies.ts';
import { newKey } from '../keys.ts';
import { parseMajor } from '../money.ts';
import { describe, ErrorText, Field, Money, Section, Status } from '../ui.tsx';
import { checkDrift, type DriftReport } from './drift.ts';
import { Figures } from './Figures.tsx';
import { TransferDesk } from './TransferDesk.tsx';

export function Operator() {
  return (
    <>
      <AccountDesk />
      <TransferDesk />
      <Figures />
    </>
  );
}

const isAccountId = (text: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);

function AccountDesk() {
  const [accountId, setAccountId] = useState('');
  const [account, setAccount] = useState<Account>();
  const [balance, setBalance] = useState<Balance>();
  const [drift, setDrift] = useState<DriftReport>();
  const [amount, setAmount] = useState('');
  const [key, setKey] = useState<string>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();
  const [busy, setBusy] = useState(false);

  const run = async (what: () => Promise<string | undefined>) => {
    setBusy(true);
    setError(undefined);
    setStatus(undefined);
    try {
      setStatus(await what());
    } catch (err) {
      setError(describe(err, account?.currency));
    } finally {
      setBusy(false);
    }
  };
  const refresh = async (id: string) => {
    const found = await api.account(id);
    setAccount(found);
    setBalance(await api.balance(id).catch(() => undefined));
    return found;
  };

  const find = (event: FormEvent) => {
    event.preventDefault();
    setDrift(undefined);
    void run(async () => {
      const target = accountId.trim();
      // An alias finds the account that receives through it (its first linked currency).
      const id = isAccountId(target) ? target : (await api.lookUp(target, '')).accountId;
      const found = await refresh(id);
      return `${found.name}, ${found.currency}, ${found.status}.`;
    });
  };

  // The key lives until the API answers, so a retry after a network error cannot move money twice.
  const move = (kind: 'deposits' | 'withdrawals') =>
    void run(async () => {
      if (!account) return undefined;
      const parsed = parseMajor(amount, digitsOf(account.currency));
      if (!parsed.ok) throw new Error(parsed.reason);
      const attempt = key ?? newKey();
      setKey(attempt);
      try {
        await api.move(kind, { accountId: account.id, amount: parsed.minor.toString(), currency: account.currency }, attempt);
      } catch (err) {
        if (!(err instanceof NetworkError)) setKey(undefined);
        throw err;
      }
      setKey(undefined);
      setAmount('');
      await refresh(account.id);
      return `${kind === 'deposits' ? 'Deposited' : 'Withdrew'} ${amount.trim()} ${account.currency}.`;
    });

  return (
    <Section title="Account">
      <form onSubmit={find} className="row">
        <Field label="Account id or alias" name="operator-account" hint="An account id, or @handle, e-mail, +phone" autoComplete="off" required value={accountId} onChange={(e) => (setAccountId(e.target.value), setAccount(undefined))} />
        <button type="submit" disabled={busy}>
          Find account
        </button>
      </form>
      <ErrorText error={error} />
      <Status text={status} />
      {account && (
        <>
          <dl className="facts">
            <dt>Account</dt>
            <dd>
              <code className="found-account-id">{account.id}</code>
            </dd>
            <dt>Name</dt>
            <dd>{account.name}</dd>
            <dt>Status</dt>
            <dd className="account-status">{account.status}</dd>
            <dt>Owner</dt>
            <dd>
              <code>{account.ownerId}</code>
            </dd>
            <dt>Available</dt>
            <dd>{balance ? <Money minor={balance.available} currency={account.currency} /> : '—'}</dd>
          </dl>
          <form onSubmit={(e) => (e.preventDefault(), move('deposits'))}>
            <Field label={`Amount in ${account.currency}`} name="operator-amount" inputMode="decimal" autoComplete="off" required value={amount} onChange={(e) => (setAmount(e.target.value), setKey(undefined))} />
            <div className="row">
              <button type="submit" disabled={busy}>
                Deposit
              </button>
              <button type="button" disabled={busy} onClick={() => move('withdrawals')}>
                Withdraw
              </button>
            </div>
          </form>
          <div className="row">
            <button
              type="button"
              className={account.status === 'frozen' ? '' : 'danger'}
              disabled={busy || account.status === 'closed'}
              onClick={() =>
                void run(async () => {
                  const changed = await api.setFrozen(account.id, account.status !== 'frozen');
                  setAccount(changed);
                  return changed.status === 'frozen' ? 'Frozen: no money moves in or out.' : 'Unfrozen.';
                })
              }
            >
              {account.status === 'frozen' ? 'Unfreeze' : 'Freeze'}
            </button>
            <button type="button" className="secondary" disabled={busy} onClick={() => void run(async () => (setDrift(await checkDrift(account)), undefined))}>
              Check drift and lag
            </button>
          </div>
          {drift && <DriftView report={drift} currency={account.currency} />}
        </>
      )}
    </Section>
  );
}

function DriftView({ report, currency }: { report: DriftReport; currency: string }) {
  return (
    <dl className="facts drift">
      <dt>Ledger</dt>
      <dd>
        <Money minor={report.ledgerPosted} currency={currency} /> at entry {report.ledgerSequence}
      </dd>
      <dt>Read model</dt>
      <dd>
        <Money minor={report.projectionPosted} currency={currency} /> at entry {report.projectionSequence}
      </dd>
      <dt>Lag</dt>
      <dd className="lag">{report.lagEntries} entries behind</dd>
      <dt>Drift</dt>
      <dd className="drift-result">{report.drifted === undefined ? 'not comparable until the read model catches up' : report.drifted ? 'DRIFTED: the read model differs from the ledger' : 'none'}</dd>
    </dl>
  );
}
