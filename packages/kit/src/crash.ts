// Named crash points for fault-injection tests: a process started with
// WALLET_CRASH_POINT=<name>[:<n>] kills itself with SIGKILL (no cleanup, no flush, no finally) the
// n-th time (default: the first) it reaches the point of that name. Without the variable every
// point is one comparison against undefined.
import { writeSync } from 'node:fs';

export const crashPointNames = [
  /** The outbox relay's publish is confirmed by the broker; its rows are not deleted yet. */
  'outbox.after_publish_confirmed',
  /** The balance consumer committed (and cached) an event's batch; the delivery is not acknowledged yet. */
  'consumer.after_apply_before_ack',
  /** The projector's batch transaction has written its rows but not committed. */
  'projector.mid_batch',
  /** The balance router's shares are confirmed by the broker; the routed message is not acknowledged yet. */
  'router.after_publish_before_ack',
] as const;
export type CrashPointName = (typeof crashPointNames)[number];

export interface CrashSpec {
  name: CrashPointName;
  /** Dies on this hit (1 = the first). */
  afterHits: number;
}

/** Parses `<name>[:<n>]`; empty or missing is no crash point. Throws on an unknown name or a bad count. */
export function parseCrashSpec(value: string | undefined): CrashSpec | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const [name, hits, ...rest] = value.trim().split(':');
  if (!crashPointNames.includes(name as CrashPointName)) throw new Error(`WALLET_CRASH_POINT: unknown crash point "${name}" (known: ${crashPointNames.join(', ')})`);
  const afterHits = hits === undefined ? 1 : Number(hits);
  if (rest.length > 0 || !Number.isInteger(afterHits) || afterHits < 1) throw new Error(`WALLET_CRASH_POINT: "${value}": the hit count must be a positive integer`);
  return { name: name as CrashPointName, afterHits };
}

/** A crash-point function for a spec; `die` is called once, on the chosen hit (tests pass a stub). */
export function createCrashPoint(spec: CrashSpec | undefined, die: (name: CrashPointName, hit: number) => void): (name: CrashPointName) => void {
  if (!spec) return () => undefined;
  let hits = 0;
  return (name) => {
    if (name !== spec.name) return;
    hits++;
    if (hits === spec.afterHits) die(name, hits);
  };
}

function killNow(name: CrashPointName, hit: number): void {
  // Synchronous, so the line is out before the signal; nothing else runs.
  writeSync(2, `WALLET_CRASH_POINT: ${name} reached (hit ${hit}); SIGKILL pid ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}

const configured = parseCrashSpec(process.env.WALLET_CRASH_POINT);

/** Marks a named crash point: a no-op unless WALLET_CRASH_POINT names it. */
export const crashPoint: (name: CrashPointName) => void = createCrashPoint(configured, killNow);
