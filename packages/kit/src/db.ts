// One small interface over node-postgres (real mode) and PGlite (embedded mode): the same SQL runs on both.
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pg' | 'pglite';
  /** Runs fn in one transaction; retries a bounded number of times on serialization failures and deadlocks. */
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** The connection pool right now (PostgreSQL only; PGlite has none). */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

const INT8_OID = 20;
const retryableCodes = new Set(['40001', '40P01']);
const txAttemptsMax = 5;

export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && retryableCodes.has(String((error as { code?: unknown }).code));
}

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

// bigint columns come back as bigint, never as a float or a string.
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => BigInt(value);
    return pg.types.getTypeParser(oid, format);
  },
};

function toPgParams(params: readonly unknown[] | undefined): unknown[] | undefined {
  return params?.map((p) => (typeof p === 'bigint' ? p.toString() : p));
}

export function createPgDb(connectionString: string, poolMax: number): Db {
  const pool = new pg.Pool({ connectionString, max: poolMax, types: pgTypes, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {
    // An idle client lost its connection; the pool replaces it. Queries report their own errors.
  });
  const run = async <R>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) => {
    const result = await client.query(sql, toPgParams(params));
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  };
  return {
    kind: 'pg',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => {
      await pool.query(sql);
    },
    async tx(fn) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        // A connection lost while checked out (PostgreSQL restarting between two statements of
        // this transaction) emits 'error' on the client; unheard, it would end the process. The
        // next statement fails on its own, and the broken client is discarded on release.
        let lost = false;
        const onLost = () => {
          lost = true;
        };
        client.on('error', onLost);
        try {
          await client.query('BEGIN');
          const result = await fn({
            query: (sql, params) => run(client, sql, params),
            exec: async (sql) => {
              await client.query(sql);
            },
          });
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (!isRetryable(error) || attempt >= txAttemptsMax) throw error;
          await sleep(Math.random() * 5 * attempt);
        } finally {
          client.off('error', onLost);
          client.release(lost);
        }
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: poolMax }),
    close: () => pool.end(),
  };
}

/** PGlite runs one query at a time; its transaction() holds the instance, so callers queue. */
export function createPgliteDb(instance: PGlite): Db {
  const run = async <R>(q: Pick<PGlite, 'query'>, sql: string, params?: readonly unknown[]) => {
    const result = await q.query<R>(sql, params as unknown[] | undefined);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  return {
    kind: 'pglite',
    query: (sql, params) => run(instance, sql, params),
    exec: async (sql) => {
      await instance.exec(sql);
    },
    tx: (fn) =>
      instance.transaction((t) =>
        fn({
          query: (sql, params) => run(t, sql, params),
          exec: async (sql) => {
            await t.exec(sql);
          },
        }),
      ),
    async ping() {
      await instance.query('SELECT 1');
    },
    async close() {
      // The embedded launcher owns the PGlite instance and closes it once, after every service.
    },
  };
}

export async function openPglite(dataDir: string | undefined): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  return PGlite.create(dataDir, { parsers: { [INT8_OID]: (value: string) => BigInt(value) } });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
