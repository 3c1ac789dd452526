// What one workload run counts: accepted, refused and failed operations, request latencies, and
// the money-moving requests whose outcome is not known yet (no answer, or a 5xx).

/** One request the load generator sends. */
export interface PlannedRequest {
  method: 'GET' | 'POST';
  path: string;
  token: string;
  /** JSON text. */
  body?: string;
  /** Set on money-moving requests: their outcome must be learnt even without an answer. */
  idempotencyKey?: string;
  /**
   * read: one operation per request. transfer: a POST /v1/transfers (its 2xx are counted against
   * the ledger). batch: a POST /v1/transfers/batch, whose operations are the transfers inside.
   */
  kind: 'read' | 'transfer' | 'batch';
}

/** Operations one answer stands for: a request, or the transfers of a batch. */
export interface Units {
  accepted: number;
  refused: number;
  errors: number;
  /** Transfers this answer put in the ledger. */
  transfers: number;
  /** What went wrong, when something did. */
  problem?: string;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function codeOf(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'string') return value.code;
  return undefined;
}

/**
 * 2xx is accepted; a 422 insufficient_funds is an expected refusal; anything else is an error.
 * A batch's 200 counts each transfer inside by its own status the same way.
 */
export function unitsOf(plan: PlannedRequest, status: number, body: string): Units {
  const ok = status >= 200 && status < 300;
  if (plan.kind === 'batch' && ok) {
    const parsed = parseJson(body);
    const results = typeof parsed === 'object' && parsed !== null && 'results' in parsed && Array.isArray(parsed.results) ? (parsed.results as unknown[]) : [];
    const units: Units = { accepted: 0, refused: 0, errors: 0, transfers: 0 };
    for (const r of results) {
      const itemStatus = typeof r === 'object' && r !== null && 'status' in r ? Number(r.status) : 0;
      const error = typeof r === 'object' && r !== null && 'error' in r ? r.error : undefined;
      if (itemStatus === 201) units.accepted++;
      else if (itemStatus === 422 && codeOf(error) === 'insufficient_funds') units.refused++;
      else {
        units.errors++;
        units.problem ??= `batch item → ${itemStatus} ${JSON.stringify(error ?? r).slice(0, 200)}`;
      }
    }
    units.transfers = units.accepted;
    if (results.length === 0) return { accepted: 0, refused: 0, errors: 1, transfers: 0, problem: `batch → ${status} without results: ${body.slice(0, 200)}` };
    return units;
  }
  if (ok) return { accepted: 1, refused: 0, errors: 0, transfers: plan.kind === 'transfer' ? 1 : 0 };
  if (status === 422 && codeOf(parseJson(body)) === 'insufficient_funds') return { accepted: 0, refused: 1, errors: 0, transfers: 0 };
  return { accepted: 0, refused: 0, errors: 1, transfers: 0, problem: `${plan.method} ${plan.path} → ${status} ${body.slice(0, 200)}` };
}

export function headersOf(plan: PlannedRequest): Record<string, string> {
  return {
    authorization: `Bearer ${plan.token}`,
    ...(plan.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(plan.idempotencyKey === undefined ? {} : { 'idempotency-key': plan.idempotencyKey }),
  };
}

/** A growable list of latencies in milliseconds, with exact percentiles. */
export class Samples {
  private values = new Float64Array(1024);
  private length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.length++] = value;
  }

  get count(): number {
    return this.length;
  }

  /** p in [0, 100]; undefined without samples. */
  percentiles(ps: readonly number[]): (number | undefined)[] {
    if (this.length === 0) return ps.map(() => undefined);
    const sorted = this.values.slice(0, this.length).sort();
    return ps.map((p) => sorted[Math.min(this.length - 1, Math.max(0, Math.ceil((p / 100) * this.length) - 1))]);
  }
}

export interface LatencySummary {
  count: number;
  p50: number | undefined;
  p99: number | undefined;
  p999: number | undefined;
  max: number | undefined;
}

export function summarize(samples: Samples): LatencySummary {
  const [p50, p99, p999, max] = samples.percentiles([50, 99, 99.9, 100]);
  return { count: samples.count, p50, p99, p999, max };
}

const errorExamplesMax = 5;

export class Tally {
  /** Operations (requests, or transfers inside batches). */
  accepted = 0;
  refused = 0;
  errors = 0;
  /** HTTP answers received in the window. */
  answers = 0;
  /** Transfers put in the ledger, including outcomes learnt after the run. */
  transfersAccepted = 0;
  /** Outcomes of requests without an answer (or with a 5xx) in the run, learnt by replaying their key. */
  late = { accepted: 0, refused: 0, errors: 0 };
  /** Latency of every answer, and of the accepted (2xx) and refused (422) ones apart. */
  readonly latency = new Samples();
  readonly latencyAccepted = new Samples();
  readonly latencyRefused = new Samples();
  readonly errorExamples: string[] = [];
  readonly statusCounts = new Map<string, number>();

  record(plan: PlannedRequest, status: number, body: string, latencyMs: number): Units {
    const units = unitsOf(plan, status, body);
    this.answers++;
    this.statusCounts.set(String(status), (this.statusCounts.get(String(status)) ?? 0) + 1);
    this.latency.push(latencyMs);
    if (status >= 200 && status < 300) this.latencyAccepted.push(latencyMs);
    else if (units.refused > 0) this.latencyRefused.push(latencyMs);
    this.accepted += units.accepted;
    this.refused += units.refused;
    this.errors += units.errors;
    this.transfersAccepted += units.transfers;
    if (units.problem) this.example(units.problem);
    return units;
  }

  /** A request that failed without an HTTP answer (timeout, connection error). */
  failure(what: string): void {
    this.errors++;
    this.example(what);
  }

  settled(units: Units): void {
    this.late.accepted += units.accepted;
    this.late.refused += units.refused;
    this.late.errors += units.errors;
    this.transfersAccepted += units.transfers;
    if (units.problem) this.example(`after replay: ${units.problem}`);
  }

  example(text: string): void {
    if (this.errorExamples.length < errorExamplesMax) this.errorExamples.push(text);
  }
}

/** Money-moving requests sent whose outcome is not known yet, by idempotency key. */
export class Pending {
  private readonly waiting = new Map<string, PlannedRequest>();

  add(plan: PlannedRequest): void {
    if (plan.idempotencyKey !== undefined) this.waiting.set(plan.idempotencyKey, plan);
  }

  /** The answer decides the outcome, unless it is a 5xx (the request may still have been applied). */
  answered(plan: PlannedRequest, status: number): void {
    if (plan.idempotencyKey !== undefined && status < 500) this.waiting.delete(plan.idempotencyKey);
  }

  take(): PlannedRequest[] {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    return all;
  }
}
