// Group commit: callers submit items one by one; whatever waits is processed together as soon as
// the previous batch is done. Under light load a batch is one item (no added latency); under heavy
// load batches grow up to batchSizeMax, so one database transaction serves many callers.
export type Settled<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Items waiting or in flight. */
  readonly size: number;
}

/**
 * With `concurrency` 2, the next batch does its work while the previous one waits for its commit.
 * Batches always take items in arrival order.
 */
export interface BatcherOptions {
  /** Batches in flight at once (default 1). */
  concurrency?: number;
  /**
   * Wait this long before taking a batch (default 0). Where the database runs on the same thread
   * (PGlite), a batch blocks the event loop, so requests can only pile up during a short wait.
   */
  lingerMs?: number;
}

export function createBatcher<I, O>(process: (items: I[]) => Promise<Settled<O>[]>, batchSizeMax: number, options: BatcherOptions = {}): Batcher<I, O> {
  const { concurrency = 1, lingerMs = 0 } = options;
  interface Waiting {
    item: I;
    resolve(value: O): void;
    reject(error: unknown): void;
  }
  const queue: Waiting[] = [];
  let inFlight = 0;
  let runners = 0;

  const run = async () => {
    runners++;
    try {
      while (queue.length > 0) {
        if (lingerMs > 0 && queue.length < batchSizeMax) await new Promise((resolve) => setTimeout(resolve, lingerMs));
        const batch = queue.splice(0, batchSizeMax);
        inFlight += batch.length;
        try {
          const results = await process(batch.map((w) => w.item));
          if (results.length !== batch.length) throw new Error(`batch of ${batch.length} gave ${results.length} results`);
          results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r.value) : batch[i]!.reject(r.error)));
        } catch (error) {
          for (const w of batch) w.reject(error);
        } finally {
          inFlight -= batch.length;
        }
      }
    } finally {
      runners--;
    }
  };

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (runners < concurrency) void run();
      });
    },
    get size() {
      return queue.length + inFlight;
    },
  };
}
