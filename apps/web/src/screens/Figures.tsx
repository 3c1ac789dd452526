// System-wide figures of the balance read model (GET /v1/admin/figures, from the balance service's
// metrics): drifted accounts and lag in entries from the last drift check, and the event lag.
import { api } from '../api.ts';
import { ErrorText, Section, useLoad } from '../ui.tsx';

const seconds = (value: number | null) => (value === null ? '—' : value < 1 ? `${(value * 1000).toFixed(1)} ms` : `${value.toFixed(2)} s`);
const count = (value: number | null) => (value === null ? 'not measured yet' : String(value));

export function Figures() {
  const figures = useLoad(() => api.figures());
  const f = figures.data;
  return (
    <Section title="System figures">
      <ErrorText error={figures.error} />
      {f && (
        <dl className="facts figures">
          <dt>Drifted accounts</dt>
          <dd className="drifted-accounts">{count(f.driftedAccounts)}</dd>
          <dt>Accounts checked</dt>
          <dd>{count(f.checkedAccounts)}</dd>
          <dt>Most entries behind</dt>
          <dd>{count(f.lagEntriesMax)}</dd>
          <dt>Last drift check</dt>
          <dd>{f.driftCheckedAt ? new Date(f.driftCheckedAt).toLocaleString() : 'not yet'}</dd>
          <dt>Repairs</dt>
          <dd>{count(f.repairs)}</dd>
          <dt>Event lag</dt>
          <dd className="event-lag">
            {f.eventLag.events} events · mean {seconds(f.eventLag.meanSeconds)} · p99 ≤ {seconds(f.eventLag.p99Seconds)}
          </dd>
        </dl>
      )}
      <button type="button" className="secondary" onClick={figures.reload}>
        Refresh figures
      </button>
      <p className="small">From the balance service's metrics. “Check drift and lag” above compares one account's read model with the ledger right now.</p>
    </Section>
  );
}
