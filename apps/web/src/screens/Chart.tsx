// The posted balance at the end of each day, as a plain SVG line with a text summary for screen readers.
import type { HistoryDay } from '../api.ts';
import { digitsOf } from '../currencies.ts';
import { formatAmount } from '../money.ts';

const W = 320;
const H = 120;
const PAD = 6;

export function BalanceChart({ days, currency }: { days: HistoryDay[]; currency: string }) {
  if (days.length === 0) return <p>No history yet.</p>;
  // Scaled as numbers only to place points on the screen; amounts shown are formatted from the strings.
  const values = days.map((d) => Number(d.closingBalance));
  const min = Math.min(0, ...values);
  const max = Math.max(...values, min + 1);
  const x = (i: number) => PAD + (days.length === 1 ? (W - 2 * PAD) / 2 : (i * (W - 2 * PAD)) / (days.length - 1));
  const y = (v: number) => H - PAD - ((v - min) * (H - 2 * PAD)) / (max - min);
  const points = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const first = days[0]!;
  const last = days.at(-1)!;
  const summary = `Balance from ${first.date} to ${last.date}: ${formatAmount(first.closingBalance, digitsOf(currency))} to ${formatAmount(last.closingBalance, digitsOf(currency))} ${currency}`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line x1={PAD} x2={W - PAD} y1={y(0)} y2={y(0)} className="axis" />
        <polyline points={points} className="line" />
        {values.map((v, i) => (
          <circle key={days[i]!.date} cx={x(i)} cy={y(v)} r={days[i]!.entries > 0 ? 2.5 : 0} className="point" />
        ))}
      </svg>
      <figcaption>{summary}</figcaption>
    </figure>
  );
}
