// The cache: Redis in real mode, a Map in embedded mode. It only ever holds what can be rebuilt.
import { Redis, type ChainableCommander } from 'ioredis';

/** One write of `setVersionedMany`. */
export interface VersionedWrite {
  key: string;
  version: bigint;
  fields: Record<string, string>;
}

export interface Cache {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  del(key: string): Promise<void>;
  /** Reads a hash written by setVersioned; null when absent. */
  getVersioned(key: string): Promise<Record<string, string> | null>;
  /** Writes the hash only if `version` is above the stored one, so late or repeated writes lose. */
  setVersioned(key: string, version: bigint, fields: Record<string, string>): Promise<boolean>;
  /** setVersioned for many keys in one round trip (a Redis pipeline); one result per write, in order.
   *  Each write is atomic on its own; the batch is not. */
  setVersionedMany(writes: readonly VersionedWrite[]): Promise<boolean[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
  /** The Redis client in real mode (rate limits share it); undefined in embedded mode. */
  readonly redis?: Redis;
}

const setVersionedScript = `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[1], unpack(ARGV, 2))
return 1`;

export function createRedisCache(url: string, log: { warn(obj: object, msg: string): void }, namespace = 'wallet'): Cache {
  const redis = new Redis(url, { keyPrefix: `${namespace}:`, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  redis.on('error', (error) => log.warn({ err: error.message }, 'redis error'));
  redis.defineCommand('setVersioned', { numberOfKeys: 1, lua: setVersionedScript });
  const withVersion = redis as Redis & { setVersioned(key: string, ...args: string[]): Promise<number> };
  type VersionedPipeline = ChainableCommander & { setVersioned(key: string, ...args: string[]): VersionedPipeline };
  return {
    redis,
    get: (key) => redis.get(key),
    async set(key, value, ttlSeconds) {
      if (ttlSeconds) await redis.set(key, value, 'EX', ttlSeconds);
      else await redis.set(key, value);
    },
    async del(key) {
      await redis.del(key);
    },
    async getVersioned(key) {
      const fields = await redis.hgetall(key);
      return Object.keys(fields).length === 0 ? null : fields;
    },
    async setVersioned(key, version, fields) {
      const args = Object.entries(fields).flat();
      return (await withVersion.setVersioned(key, version.toString(), ...args)) === 1;
    },
    async setVersionedMany(writes) {
      if (writes.length === 0) return [];
      const pipeline = redis.pipeline() as VersionedPipeline;
      for (const { key, version, fields } of writes) pipeline.setVersioned(key, version.toString(), ...Object.entries(fields).flat());
      const replies = await pipeline.exec();
      if (replies?.length !== writes.length) throw new Error(`redis answered ${replies?.length ?? 0} of ${writes.length} pipelined writes`);
      return replies.map(([error, reply]) => {
        if (error) throw error;
        return reply === 1;
      });
    },
    async ping() {
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}

export function createMemoryCache(): Cache {
  const values = new Map<string, { value: string; expiresAt: number }>();
  const hashes = new Map<string, Record<string, string>>();
  const setVersioned = (key: string, version: bigint, fields: Record<string, string>): boolean => {
    const current = hashes.get(key);
    if (current?.version !== undefined && BigInt(current.version) >= version) return false;
    hashes.set(key, { ...current, ...fields, version: version.toString() });
    return true;
  };
  return {
    async get(key) {
      const entry = values.get(key);
      if (!entry) return null;
      if (entry.expiresAt < Date.now()) {
        values.delete(key);
        return null;
      }
      return entry.value;
    },
    async set(key, value, ttlSeconds) {
      values.set(key, { value, expiresAt: ttlSeconds ? Date.now() + ttlSeconds * 1000 : Infinity });
    },
    async del(key) {
      values.delete(key);
      hashes.delete(key);
    },
    async getVersioned(key) {
      const fields = hashes.get(key);
      return fields ? { ...fields } : null;
    },
    setVersioned: async (key, version, fields) => setVersioned(key, version, fields),
    setVersionedMany: async (writes) => writes.map(({ key, version, fields }) => setVersioned(key, version, fields)),
    ping: async () => true,
    close: async () => undefined,
  };
}
