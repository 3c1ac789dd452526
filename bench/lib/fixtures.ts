// The bench's data, made through the public API as any client would: users (sign-up and login),
// their USD accounts, and an operator deposit into each account that should have money.
import { randomBytes } from 'node:crypto';
import { WalletClient, until } from '../../test/support/client.ts';
import { inParallel, log } from './util.ts';

export interface BenchUser {
  handle: string;
  password: string;
  id: string;
  token: string;
  refreshToken: string;
  tokenAt: number;
}

export interface BenchAccount {
  id: string;
  /** Index into Fixtures.users. */
  owner: number;
}

export interface Fixtures {
  users: BenchUser[];
  /** Accounts funded with fundAmount each. */
  funded: BenchAccount[];
  /** Accounts that never receive a deposit: every transfer from them is refused. */
  unfunded: BenchAccount[];
  /** One account funded with hotAmount, the single hot account of W2. */
  hot: BenchAccount;
  operator: WalletClient;
  /** Sum of all deposits made. */
  deposited: bigint;
}

export interface FixtureSizes {
  users: number;
  accounts: number;
  unfunded: number;
  fundAmount: bigint;
  hotAmount: bigint;
  /** Requests in flight while creating accounts and deposits. */
  concurrency: number;
}

const password = 'bench password 1234';

export async function createFixtures(baseUrl: string, operatorId: string, operatorSecret: string, sizes: FixtureSizes): Promise<Fixtures> {
  const operator = new WalletClient(baseUrl);
  const opLogin = await operator.loginClient(operatorId, operatorSecret);
  if (opLogin.status !== 200) throw new Error(`operator login: ${opLogin.status} ${JSON.stringify(opLogin.body)}`);

  const tag = randomBytes(3).toString('hex');
  let started = Date.now();
  // Sign-up hashes the password (argon2, tens of ms of CPU): a few at a time.
  const users = await inParallel(Array.from({ length: sizes.users }, (_, i) => i), 4, async (i) => {
    const handle = `bench_${tag}_${i}`;
    const client = new WalletClient(baseUrl);
    const created = await client.post('/v1/users', { handle, password, displayName: `Bench User ${i}` });
    if (created.status !== 201) throw new Error(`sign-up ${handle}: ${created.status} ${JSON.stringify(created.body)}`);
    const user: BenchUser = { handle, password, id: String(created.body.id), token: '', refreshToken: '', tokenAt: 0 };
    await login(baseUrl, user);
    return user;
  });
  log(`${users.length} users signed up and logged in (${Date.now() - started} ms)`);

  // Accounts: the funded ones round-robin over users (each user's first USD account is the one
  // their handle resolves to), then the never-funded ones, then the hot account (user 0).
  started = Date.now();
  const owners = [
    ...Array.from({ length: sizes.accounts }, (_, i) => i % users.length),
    ...Array.from({ length: sizes.unfunded }, (_, i) => i % users.length),
    0,
  ];
  const ids = await inParallel(owners, sizes.concurrency, async (owner) => {
    const r = await new WalletClient(baseUrl, users[owner]!.token).post('/v1/accounts', { currency: 'USD' });
    if (r.status !== 201) throw new Error(`open account for ${users[owner]!.handle}: ${r.status} ${JSON.stringify(r.body)}`);
    return String(r.body.id);
  });
  const accounts = ids.map((id, i) => ({ id, owner: owners[i]! }));
  const funded = accounts.slice(0, sizes.accounts);
  const unfunded = accounts.slice(sizes.accounts, sizes.accounts + sizes.unfunded);
  const hot = accounts.at(-1)!;
  log(`${accounts.length} accounts opened (${Date.now() - started} ms)`);

  started = Date.now();
  const plan = [...funded.map((a) => ({ id: a.id, amount: sizes.fundAmount })), { id: hot.id, amount: sizes.hotAmount }];
  await inParallel(plan, sizes.concurrency, async ({ id, amount }) => {
    const r = await operator.deposit(id, amount.toString());
    if (r.status !== 201) throw new Error(`deposit into ${id}: ${r.status} ${JSON.stringify(r.body)}`);
  });
  const deposited = plan.reduce((sum, p) => sum + p.amount, 0n);
  log(`${plan.length} deposits made (${Date.now() - started} ms)`);

  // W6 needs every handle to resolve, which happens when the alias service has seen account.opened.
  await inParallel(users, 8, (user) =>
    until(async () => {
      const r = await new WalletClient(baseUrl, user.token).get(`/v1/aliases/${user.handle}?currency=USD`);
      return r.status === 200 ? true : undefined;
    }, `alias ${user.handle} to resolve`, 30_000),
  );
  return { users, funded, unfunded, hot, operator, deposited };
}

async function login(baseUrl: string, user: BenchUser): Promise<void> {
  const client = new WalletClient(baseUrl);
  const r = await client.login(user.handle, user.password);
  if (r.status !== 200) throw new Error(`login ${user.handle}: ${r.status} ${JSON.stringify(r.body)}`);
  user.token = String(r.body.access_token);
  user.refreshToken = String(r.body.refresh_token);
  user.tokenAt = Date.now();
}

/** Access tokens live at most 15 minutes: renew those older than maxAgeMs (refresh grant), and the operator's. */
export async function renewTokens(baseUrl: string, fixtures: Fixtures, operatorId: string, operatorSecret: string, maxAgeMs: number): Promise<void> {
  const stale = fixtures.users.filter((u) => Date.now() - u.tokenAt > maxAgeMs);
  await inParallel(stale, 8, async (user) => {
    const r = await new WalletClient(baseUrl).form({ grant_type: 'refresh_token', refresh_token: user.refreshToken });
    if (r.status !== 200) return login(baseUrl, user);
    user.token = String(r.body.access_token);
    user.refreshToken = String(r.body.refresh_token);
    user.tokenAt = Date.now();
  });
  const r = await fixtures.operator.loginClient(operatorId, operatorSecret);
  if (r.status !== 200) throw new Error(`operator login: ${r.status} ${JSON.stringify(r.body)}`);
}
