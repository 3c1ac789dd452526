// An account's history: the balance chart over the last 30 days, transfers and the statement, page
// by page, and the statement as a CSV file.
import { useState } from 'react';
import { api, type Account } from '../api.ts';
import { describe, ErrorText, Money, Section, useLoad } from '../ui.tsx';
import { BalanceChart } from './Chart.tsx';

const DAY = 86_400_000;

export function History() {
  const accounts = useLoad(() => api.accounts());
  const [chosen, setChosen] = useState('');
  const account = accounts.data?.find((a) => a.id === chosen) ?? accounts.data?.[0];
  return (
    <>
      <Section title="History">
        <ErrorText error={accounts.error} />
        {accounts.data?.length === 0 && <p>No accounts yet.</p>}
        <div className="field">
          <label htmlFor="history-account">Account</label>
          <select id="history-account" value={account?.id ?? ''} onChange={(e) => setChosen(e.target.value)}>
            {accounts.data?.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.currency})
              </option>
            ))}
          </select>
        </div>
        {account && <Chart account={account} />}
      </Section>
      {account && <Transfers key={`t${account.id}`} account={account} />}
      {account && <StatementView key={`s${account.id}`} account={account} />}
    </>
  );
}

function Chart({ account }: { account: Account }) {
  const history = useLoad(() => {
    const to = new Date(Math.floor(Date.now() / DAY) * DAY + DAY);
    return api.history(account.id, new Date(to.getTime() - 30 * DAY).toISOString(), to.toISOString());
  }, [account.id]);
  return (
    <>
      <h3>Balance, last 30 days</h3>
      <ErrorText error={history.error} />
      {history.data && <BalanceChart days={history.data.days} currency={account.currency} />}
    </>
  );
}

/** Cursor pages: the cursors of the pages before this one, to go back. */
function usePages() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors.at(-1),
    page: cursors.length,
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
  };
}

function Pager({ page, next, onNext, onPrevious, label }: { page: number; next: string | null | undefined; onNext: (c: string) => void; onPrevious: () => void; label: string }) {
  return (
    <nav className="row pager" aria-label={`${label} pages`}>
      <button type="button" className="secondary" disabled={page === 1} onClick={onPrevious}>
        Newer
      </button>
      <span>Page {page}</span>
      <button type="button" className="secondary" disabled={!next} onClick={() => next && onNext(next)}>
        Older
      </button>
    </nav>
  );
}

function Transfers({ account }: { account: Account }) {
  const pages = usePages();
  const list = useLoad(() => api.transfers(account.id, pages.cursor), [account.id, pages.cursor]);
  return (
    <Section title="Transfers">
      <ErrorText error={list.error} />
      {list.data?.items.length === 0 && <p>No transfers yet.</p>}
      <ul className="lines">
        {list.data?.items.map((t) => {
          const outgoing = t.fromAccountId === account.id;
          return (
            <li key={t.id}>
              <span>
                {new Date(t.createdAt).toLocaleString()} · {t.kind}
                {t.description ? ` · ${t.description}` : ''}
              </span>
              <Money minor={`${outgoing ? '-' : ''}${t.amount}`} currency={t.currency} />
              <code className="small">{t.id}</code>
            </li>
          );
        })}
      </ul>
      <Pager label="Transfers" page={pages.page} next={list.data?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
    </Section>
  );
}

function StatementView({ account }: { account: Account }) {
  const pages = usePages();
  const statement = useLoad(() => api.statement(account.id, pages.cursor), [account.id, pages.cursor]);
  const [error, setError] = useState<string>();

  const download = async () => {
    setError(undefined);
    try {
      const csv = await api.statementCsv(account.id);
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
      link.download = `statement-${account.currency}-${account.id.slice(0, 8)}.csv`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    } catch (err) {
      setError(describe(err));
    }
  };

  const s = statement.data;
  return (
    <Section title="Statement, last 30 days">
      <ErrorText error={statement.error ?? error} />
      {s && (
        <p>
          Opening <Money minor={s.openingBalance} currency={s.currency} /> · Closing <Money minor={s.closingBalance} currency={s.currency} />
        </p>
      )}
      {/* Scrolls sideways on a phone; focusable so the keyboard can scroll it too. */}
      <div className="table-wrap" tabIndex={0} role="group" aria-label="Statement entries">
        <table>
          <thead>
            <tr>
              <th scope="col">Date</th>
              <th scope="col">What</th>
              <th scope="col">Amount</th>
              <th scope="col">Balance after</th>
            </tr>
          </thead>
          <tbody>
            {s?.entries.map((e) => (
              <tr key={e.sequence}>
                <td>{new Date(e.createdAt).toLocaleString()}</td>
                <td>{e.description ?? e.kind}</td>
                <td>
                  <Money minor={e.amount} currency={s.currency} />
                </td>
                <td>
                  <Money minor={e.balanceAfter} currency={s.currency} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager label="Statement" page={pages.page} next={s?.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
      <button type="button" onClick={() => void download()}>
        Download CSV
      </button>
    </Section>
  );
}
