// The two profiles: quick (under 2 minutes, a smoke test of the numbers) and full (the one the
// targets are defined for, ~10 minutes without W7).
export interface Profile {
  users: number;
  /** Funded accounts, spread over the users. */
  accounts: number;
  /** Never-funded accounts, the senders of W4's refusals. */
  unfunded: number;
  fundAmount: bigint;
  hotAmount: bigint;
  /** W1 closed-loop concurrencies; the best is reported and used for W2, W4 and W7. */
  w1Connections: number[];
  /** Connections for W5 and W6. */
  readConnections: number;
  /** W3: transfers per batch request, and connections. */
  batchSize: number;
  batchConnections: number;
  durationS: number;
  warmupS: number;
  pgbenchClients: number[];
  pgbenchS: number;
  /** Follow one accepted transfer in this many for the event-to-balance lag. */
  lagEvery: number;
  w7Accounts: number;
}

export const profiles: Record<'quick' | 'full', Profile> = {
  quick: {
    users: 20,
    accounts: 1_000,
    unfunded: 100,
    fundAmount: 1_000_000_000n,
    hotAmount: 100_000_000_000n,
    w1Connections: [64],
    readConnections: 64,
    batchSize: 100,
    batchConnections: 16,
    durationS: 8,
    // Creating the data through the API already runs the transfer path; the quick run has no time to spare.
    warmupS: 0,
    pgbenchClients: [4, 16],
    pgbenchS: 5,
    lagEvery: 50,
    w7Accounts: 1_000_000,
  },
  full: {
    users: 100,
    accounts: 10_000,
    unfunded: 1_000,
    fundAmount: 1_000_000_000n,
    hotAmount: 100_000_000_000n,
    w1Connections: [32, 128, 256],
    readConnections: 128,
    batchSize: 100,
    batchConnections: 32,
    durationS: 25,
    warmupS: 5,
    pgbenchClients: [4, 16],
    pgbenchS: 15,
    lagEvery: 50,
    w7Accounts: 1_000_000,
  },
};
