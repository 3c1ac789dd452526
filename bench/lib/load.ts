// Load generators. Closed loop: autocannon, N connections each sending its next request as soon as
// the previous one is answered. Open loop: requests sent on a fixed schedule whatever the answers,
// latency counted from the moment each request was due (no coordinated omission).
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import autocannon, { type Context, type RequestSpec } from 'autocannon';
import { headersOf, Pending, Tally, unitsOf, type PlannedRequest } from './tally.ts';
import { inParallel, sleep } from './util.ts';

export interface RunResult {
  /** Seconds the load ran. */
  durationS: number;
  tally: Tally;
  /** Requests sent (open loop: due requests actually sent). */
  sent: number;
  /** Open loop only: requests due but not sent because too many were in flight. */
  dropped: number;
  timeouts: number;
}

export interface ClosedLoopOptions {
  url: string;
  connections: number;
  durationS: number;
  next: () => PlannedRequest;
  pending: Pending;
  timeoutS?: number;
}

export function closedLoop({ url, connections, durationS, next, pending, timeoutS = 10 }: ClosedLoopOptions): Promise<RunResult> {
  const tally = new Tally();
  const sentAt = new WeakMap<Context, { plan: PlannedRequest; t0: number }>();
  let sent = 0;
  const spec: RequestSpec = {
    setupRequest: (request, context) => {
      const plan = next();
      sent++;
      sentAt.set(context, { plan, t0: performance.now() });
      pending.add(plan);
      return { ...request, method: plan.method, path: plan.path, headers: headersOf(plan), body: plan.body ?? '' };
    },
    onResponse: (status, body, context) => {
      const started = sentAt.get(context);
      if (!started) return;
      sentAt.delete(context);
      pending.answered(started.plan, status);
      tally.record(started.plan, status, body, performance.now() - started.t0);
    },
  };
  const began = performance.now();
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: durationS, timeout: timeoutS, requests: [spec] }, (error, result) => {
      if (error) return reject(error);
      // autocannon's errors are connection errors and timeouts: requests without an HTTP answer.
      for (let i = 0; i < result.errors; i++) tally.failure(i < result.timeouts ? `no answer within ${timeoutS} s` : 'connection error');
      resolve({ durationS: (performance.now() - began) / 1000, tally, sent, dropped: 0, timeouts: result.timeouts });
    });
  });
}

export interface OpenLoopOptions {
  url: string;
  ratePerS: number;
  durationS: number;
  next: () => PlannedRequest;
  pending: Pending;
  /** Sockets to the gateway; requests beyond wait in the agent's queue (and their wait counts). */
  socketsMax?: number;
  /** Requests in flight beyond which due requests are dropped (and counted). */
  inFlightMax?: number;
  timeoutMs?: number;
  /** Called with each accepted response (body text) and the time it arrived. */
  onAccepted?: (plan: PlannedRequest, body: string, at: number) => void;
}

export async function openLoop(options: OpenLoopOptions): Promise<RunResult> {
  const { url, ratePerS, durationS, next, pending, socketsMax = 256, inFlightMax = 4096, timeoutMs = 10_000, onAccepted } = options;
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: socketsMax });
  const tally = new Tally();
  const total = Math.round(ratePerS * durationS);
  let inFlight = 0;
  let sent = 0;
  let dropped = 0;
  let timeouts = 0;
  let idle: (() => void) | undefined;

  const fire = (due: number) => {
    const plan = next();
    pending.add(plan);
    inFlight++;
    sent++;
    let settled = false;
    const finish = () => {
      settled = true;
      inFlight--;
      if (inFlight === 0) idle?.();
    };
    const headers = { ...headersOf(plan), ...(plan.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(plan.body)) }) };
    const req = httpRequest(
      { agent, host: target.hostname, port: target.port, method: plan.method, path: plan.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          if (settled) return;
          const now = performance.now();
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          pending.answered(plan, status);
          const units = tally.record(plan, status, body, now - due);
          if (units.accepted > 0) onAccepted?.(plan, body, now);
          finish();
        });
        res.on('error', () => undefined);
      },
    );
    req.setTimeout(timeoutMs, () => {
      timeouts++;
      req.destroy(new Error(`no answer within ${timeoutMs} ms`));
    });
    req.on('error', (error) => {
      if (settled) return;
      tally.failure(`${plan.method} ${plan.path}: ${error.message}`);
      finish();
    });
    req.end(plan.body);
  };

  const began = performance.now();
  let due = 0;
  while (due < total) {
    const elapsedS = (performance.now() - began) / 1000;
    const dueNow = Math.min(total, Math.floor(elapsedS * ratePerS) + 1);
    for (; due < dueNow; due++) {
      if (inFlight >= inFlightMax) dropped++;
      else fire(began + (due * 1000) / ratePerS);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  // The rate is over the scheduled duration (or longer, if the schedule fell behind).
  const scheduledS = Math.max(durationS, (performance.now() - began) / 1000);
  if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
  agent.destroy();
  return { durationS: scheduledS, tally, sent, dropped, timeouts };
}

/**
 * Learns the outcome of money-moving requests left without an answer (timed out, or cut off when a
 * run ended) by sending them again with the same Idempotency-Key: a stored outcome is replayed, a
 * request that never arrived is executed now. Either way the ledger and the tally agree afterwards.
 */
export async function settleUnanswered(baseUrl: string, pending: Pending, tally: Tally): Promise<number> {
  const plans = pending.take();
  if (plans.length === 0) return 0;
  const attemptsMax = 40;
  await inParallel(plans, 16, async (plan) => {
    for (let attempt = 1; ; attempt++) {
      let status = 0;
      let body = '';
      try {
        const response = await fetch(new URL(plan.path, baseUrl), { method: plan.method, headers: headersOf(plan), body: plan.body, signal: AbortSignal.timeout(15_000) });
        status = response.status;
        body = await response.text();
      } catch (error) {
        body = String(error);
      }
      // 409: the first attempt is still in progress; 5xx or no answer: try again.
      const unsettled = status === 409 || status === 0 || status >= 500;
      if (unsettled && attempt < attemptsMax) {
        await sleep(250);
        continue;
      }
      tally.settled(unitsOf(plan, status, body));
      return;
    }
  });
  return plans.length;
}
