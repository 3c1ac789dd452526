// Event-to-balance lag, seen from outside: for a sample of accepted transfers, poll the sender's
// balance until the balance service shows the transfer's source sequence; the lag is the time
// from the 201 to the first poll that shows it (so it includes one balance read). Polls every
// 2 ms, backing off to 10% of the time waited so far (a lag of seconds must not turn the sampler
// into the heaviest load on the box); at most `followersMax` transfers are followed at once.
import { Agent, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { PlannedRequest } from './tally.ts';
import { Samples, summarize, type LatencySummary } from './tally.ts';
import { sleep } from './util.ts';

export interface LagFigures extends LatencySummary {
  sampled: number;
  /** Transfers due for sampling while followersMax were already followed. */
  skipped: number;
  timeouts: number;
  errors: number;
  capMs: number;
  every: number;
}

interface TransferBody {
  fromAccountId?: string;
  source?: { sequence?: string };
}

export class LagSampler {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private readonly samples = new Samples();
  private readonly followers = new Set<Promise<void>>();
  private seen = 0;
  private skipped = 0;
  private timeouts = 0;
  private errors = 0;
  private readonly target: URL;

  constructor(
    baseUrl: string,
    private readonly every = 50,
    private readonly capMs = 5000,
    private readonly pollMs = 2,
    private readonly followersMax = 8,
  ) {
    this.target = new URL(baseUrl);
  }

  /** Give it every accepted transfer response; it follows one in `every`. */
  readonly onAccepted = (plan: PlannedRequest, body: string, at: number): void => {
    if (plan.kind !== 'transfer' || ++this.seen % this.every !== 0) return;
    if (this.followers.size >= this.followersMax) {
      this.skipped++;
      return;
    }
    let parsed: TransferBody;
    try {
      parsed = JSON.parse(body) as TransferBody;
    } catch {
      this.errors++;
      return;
    }
    const sequence = parsed.source?.sequence;
    if (!parsed.fromAccountId || sequence === undefined) {
      this.errors++;
      return;
    }
    const follower = this.follow(plan.token, parsed.fromAccountId, BigInt(sequence), at);
    this.followers.add(follower);
    void follower.finally(() => this.followers.delete(follower));
  };

  private async follow(token: string, accountId: string, sequence: bigint, at: number): Promise<void> {
    for (;;) {
      const seen = await this.readSequence(token, accountId);
      const lag = performance.now() - at;
      if (seen !== undefined && seen >= sequence) {
        this.samples.push(lag);
        return;
      }
      if (lag > this.capMs) {
        // Counted at the cap, so percentiles are not flattered by the ones never seen.
        this.timeouts++;
        this.samples.push(lag);
        return;
      }
      await sleep(Math.max(this.pollMs, lag / 10));
    }
  }

  private readSequence(token: string, accountId: string): Promise<bigint | undefined> {
    return new Promise((resolve) => {
      const req = httpRequest(
        { agent: this.agent, host: this.target.hostname, port: this.target.port, path: `/v1/accounts/${accountId}/balance`, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () => {
            if (res.statusCode !== 200) return resolve(undefined);
            try {
              const body = JSON.parse(text) as { sequence?: string };
              resolve(body.sequence === undefined ? undefined : BigInt(body.sequence));
            } catch {
              resolve(undefined);
            }
          });
        },
      );
      req.setTimeout(this.capMs, () => req.destroy());
      req.on('error', () => resolve(undefined));
      req.end();
    });
  }

  async finish(): Promise<LagFigures> {
    while (this.followers.size > 0) await Promise.all([...this.followers]);
    this.agent.destroy();
    return { ...summarize(this.samples), sampled: this.samples.count, skipped: this.skipped, timeouts: this.timeouts, errors: this.errors, capMs: this.capMs, every: this.every };
  }
}
