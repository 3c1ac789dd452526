// The cache: Redis in real mode, a Map in embedded mode. It only ever holds what can be rebuilt.
import { Redis, type ChainableCommander } from 'ioredis';

/** One write of `setVersionedMany`. */
export interface VersionedWrite {
  key: string;
  version: bigint;
  fields: Record<string, string>;
}

/** Receives the messages of one channel (see `PubSub`). */
export interface ChannelListener {
  message(message: string): void;
  /**
   * Messages may have been missed: the subscriber's connection was lost and is back, with the
   * subscription made again. Whoever follows a channel to learn of changes re-reads the source.
   */
  resync?(): void;
}

/**
 * Publish/subscribe across processes: Redis PUBLISH/SUBSCRIBE in real mode, in this process in
 * embedded mode. At most once, nothing stored: a message published while a subscriber is away is
 * lost (it is told with `resync` when it is back), so messages may say only "look again", never carry
 * what the reader must not miss.
 */
export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  /**
   * Resolves once the subscription is active, or at once while Redis is unreachable: it is then made
   * when the connection is back, followed by `resync`. Returns the function that ends it (idempotent).
   */
  subscribe(channel: string, listener: ChannelListener): Promise<() => void>;
}

/**
 * `PubSub` is optional here so that a wrapper of a cache (a test's breakable one) may leave it out;
 * without it changes reach only the process that made them. Both caches below have it.
 */
export interface Cache extends Partial<PubSub> {
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

/** One subscribed channel: its listeners and the SUBSCRIBE that made it (settled once it is active or failed). */
interface Channel {
  listeners: Set<ChannelListener>;
  active: Promise<void>;
}

/** Calls a listener without letting it break the loop that delivers to the others. */
function deliver(listener: ChannelListener, call: (listener: ChannelListener) => void, log: { warn(obj: object, msg: string): void }) {
  try {
    call(listener);
  } catch (error) {
    log.warn({ err: error }, 'a channel listener failed');
  }
}

export function createRedisCache(url: string, log: { warn(obj: object, msg: string): void }, namespace = 'wallet'): Cache & PubSub {
  // While Redis is away no command may hang its caller: each fails after commandTimeout at the latest
  // (sooner once a reconnection fails: maxRetriesPerRequest), and callers fall back (PostgreSQL for
  // balances, memory for limits). Reconnection goes on every ≤ 2 s, so Redis is used again when back.
  const redis = new Redis(url, {
    keyPrefix: `${namespace}:`,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  redis.on('error', (error) => log.warn({ err: error.message }, 'redis error'));

  // Pub/sub needs a connection of its own (one in subscriber mode takes no other commands), opened on
  // the first subscribe and named `<namespace>:subscriber` (CLIENT LIST). ioredis prefixes keys, never
  // channels: the namespace is added here. Channels are subscribed again here on every 'ready' rather
  // than by ioredis, so that listeners are told (`resync`) once their subscription is active again.
  const channelName = (channel: string) => `${namespace}:${channel}`;
  const channels = new Map<string, Channel>();
  const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));
  let subscriber: { connection: Redis; firstReady: Promise<void>; everReady: boolean } | undefined;
  const subscriberConnection = () => {
    if (subscriber) return subscriber;
    const connection = new Redis(url, {
      connectionName: `${namespace}:subscriber`,
      autoResubscribe: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 2000,
    });
    let firstReadyDone: () => void = () => undefined;
    // The first connection is waited for (at most its connect timeout); later losses are not.
    const firstReady = new Promise<void>((resolve) => {
      firstReadyDone = resolve;
      setTimeout(resolve, 2000).unref();
    });
    const state = { connection, firstReady, everReady: false };
    connection.on('error', (error) => log.warn({ err: error.message }, 'redis subscriber error'));
    connection.on('message', (name: string, message: string) => {
      const channel = name.startsWith(`${namespace}:`) ? channels.get(name.slice(namespace.length + 1)) : undefined;
      if (!channel) return;
      for (const listener of [...channel.listeners]) deliver(listener, (l) => l.message(message), log);
    });
    connection.on('ready', () => {
      const names = [...channels.keys()];
      const subscribed = names.length === 0 ? Promise.resolve(0) : connection.subscribe(...names.map(channelName));
      subscribed.then(
        () => {
          state.everReady = true;
          firstReadyDone();
          for (const name of names) for (const listener of [...(channels.get(name)?.listeners ?? [])]) deliver(listener, (l) => l.resync?.(), log);
        },
        (error: unknown) => {
          log.warn({ err: errorText(error) }, 'redis resubscribe failed; reconnecting');
          connection.disconnect(true);
        },
      );
    });
    subscriber = state;
    return state;
  };

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
    async publish(channel, message) {
      await redis.publish(channelName(channel), message);
    },
    async subscribe(channel, listener) {
      const { connection, firstReady, everReady } = subscriberConnection();
      let entry = channels.get(channel);
      if (!entry) {
        let active: Promise<void>;
        if (connection.status === 'ready') {
          active = connection.subscribe(channelName(channel)).then(
            () => undefined,
            (error: unknown) => {
              // A subscription that may or may not exist: start over; 'ready' makes every one again and tells the listeners.
              log.warn({ err: errorText(error), channel }, 'redis subscribe failed; reconnecting');
              connection.disconnect(true);
            },
          );
        } else {
          // Not connected: the 'ready' handler subscribes it. The first connection is waited for.
          active = everReady ? Promise.resolve() : firstReady;
        }
        entry = { listeners: new Set(), active };
        channels.set(channel, entry);
      }
      const joined = entry;
      joined.listeners.add(listener);
      await joined.active;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        joined.listeners.delete(listener);
        if (joined.listeners.size > 0 || channels.get(channel) !== joined) return;
        channels.delete(channel);
        if (connection.status === 'ready') {
          connection.unsubscribe(channelName(channel)).catch((error: unknown) => log.warn({ err: errorText(error), channel }, 'redis unsubscribe failed'));
        }
      };
    },
    async close() {
      subscriber?.connection.disconnect();
      redis.disconnect();
    },
  };
}

export function createMemoryCache(): Cache & PubSub {
  const values = new Map<string, { value: string; expiresAt: number }>();
  const channels = new Map<string, Set<ChannelListener>>();
  const silent = { warn: () => undefined };
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
    async publish(channel, message) {
      // Delivered later, as Redis would, never inside the publisher's call.
      for (const listener of [...(channels.get(channel) ?? [])]) queueMicrotask(() => deliver(listener, (l) => l.message(message), silent));
    },
    async subscribe(channel, listener) {
      const listeners = channels.get(channel) ?? new Set<ChannelListener>();
      channels.set(channel, listeners);
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && channels.get(channel) === listeners) channels.delete(channel);
      };
    },
    ping: async () => true,
    close: async () => undefined,
  };
}

// ——— Token buckets ———————————————————————————————————————————————————————————————————————————————
// Rationing that stays atomic across concurrent requests and replicas: a Lua script in Redis (real
// mode), a Map in this process (embedded mode). A bucket holds at most `capacity` tokens, starts
// full and earns `refillPerMinute` back continuously; a request takes its cost only if the bucket
// holds that much, in one step, so concurrent requests can never spend the same tokens twice.

/** The shape of a bucket; callers may use different rules for different keys. */
export interface TokenBucketRule {
  capacity: number;
  /** Tokens earned back per minute (more than 0), continuously, up to the capacity. */
  refillPerMinute: number;
}

export interface TokenTake {
  /** Whether the cost was taken. A refusal takes nothing. */
  allowed: boolean;
  /** Tokens in the bucket after the call (possibly fractional). */
  remaining: number;
  /** When refused: milliseconds until the bucket holds the cost; 0 otherwise. */
  retryAfterMs: number;
}

export interface TokenBuckets {
  /**
   * Takes `cost` tokens from bucket `key` if it holds that many, atomically. A negative cost gives
   * tokens back (a refund), never above the capacity, and is always allowed.
   */
  take(key: string, cost: number, rule: TokenBucketRule): Promise<TokenTake>;
}

function checkRule(rule: TokenBucketRule, cost: number): void {
  if (!(rule.capacity > 0) || !(rule.refillPerMinute > 0) || !Number.isFinite(cost)) {
    throw new Error(`bad token bucket rule ${JSON.stringify(rule)} or cost ${cost}`);
  }
}

/** The arithmetic both versions share (the Lua script below repeats it). */
function takeFrom(state: { tokens: number; at: number } | undefined, now: number, cost: number, rule: TokenBucketRule) {
  const perMs = rule.refillPerMinute / 60_000;
  let tokens = state ? state.tokens : rule.capacity;
  const at = state ? Math.max(state.at, now) : now;
  // A clock that went back earns nothing; it never takes tokens away either.
  if (state && now > state.at) tokens += (now - state.at) * perMs;
  tokens = Math.min(rule.capacity, tokens);
  if (cost <= tokens) return { state: { tokens: Math.min(rule.capacity, tokens - cost), at }, take: { allowed: true, remaining: Math.min(rule.capacity, tokens - cost), retryAfterMs: 0 } };
  return { state: { tokens, at }, take: { allowed: false, remaining: tokens, retryAfterMs: Math.ceil((cost - tokens) / perMs) } };
}

/** Buckets in this process's memory, bounded in number (the least recently used go first, and come back full). */
export function createMemoryTokenBuckets(options: { now?: () => number; keysMax?: number } = {}): TokenBuckets {
  const now = options.now ?? Date.now;
  const keysMax = options.keysMax ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    async take(key, cost, rule) {
      checkRule(rule, cost);
      const current = buckets.get(key);
      const { state, take } = takeFrom(current, now(), cost, rule);
      buckets.delete(key);
      if (buckets.size >= keysMax) {
        const oldest = buckets.keys().next();
        if (!oldest.done) buckets.delete(oldest.value);
      }
      buckets.set(key, state);
      return take;
    },
  };
}

// Time comes from Redis (TIME), so replicas whose clocks disagree still share one bucket fairly.
// The key expires once the bucket would be full again: an absent key is a full bucket.
const takeTokensScript = `
local capacity = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = tokens + (now - at) * perMs
  at = now
end
if tokens > capacity then tokens = capacity end
local allowed = 0
local retry = 0
if cost <= tokens then
  tokens = tokens - cost
  if tokens > capacity then tokens = capacity end
  allowed = 1
else
  retry = math.ceil((cost - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perMs) + 1000)
return {allowed, string.format('%.17g', tokens), retry}`;

type RedisWithBuckets = Redis & { walletTakeTokens(key: string, capacity: string, perMs: string, cost: string): Promise<[number, string, number]> };

/** ioredis states in which Redis is not connected and will not be soon: no point in waiting for it. */
const redisUnavailable = new Set(['reconnecting', 'close', 'end']);

/**
 * Buckets in Redis, shared by every replica. While Redis is unreachable or slower than `timeoutMs`
 * the buckets are kept in this process instead (`fallback`, memory by default) — rationing goes on,
 * per replica and starting full, rather than stopping or refusing everyone — and Redis takes over
 * again as soon as it answers. A warning is logged when that starts and a note when it ends.
 */
export function createRedisTokenBuckets(
  redis: Redis,
  options: { log: { warn(obj: object, msg: string): void; info?(msg: string): void }; timeoutMs?: number; fallback?: TokenBuckets; keyPrefix?: string },
): TokenBuckets {
  if (!('walletTakeTokens' in redis)) redis.defineCommand('walletTakeTokens', { numberOfKeys: 1, lua: takeTokensScript });
  const client = redis as RedisWithBuckets;
  const fallback = options.fallback ?? createMemoryTokenBuckets();
  const timeoutMs = options.timeoutMs ?? 1000;
  const prefix = options.keyPrefix ?? 'bucket:';
  let degraded = false;
  const degrade = (reason: string) => {
    if (!degraded) options.log.warn({ reason }, 'token buckets kept in memory (per replica) until Redis answers');
    degraded = true;
  };
  return {
    async take(key, cost, rule) {
      checkRule(rule, cost);
      if (redisUnavailable.has(client.status)) {
        degrade(`redis ${client.status}`);
        return fallback.take(key, cost, rule);
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const call = client.walletTakeTokens(prefix + key, String(rule.capacity), String(rule.refillPerMinute / 60_000), String(cost));
        call.catch(() => undefined); // may settle after the timeout
        const [allowed, remaining, retryAfterMs] = await Promise.race([call, timeout]);
        if (degraded) options.log.info?.('token buckets kept in Redis again');
        degraded = false;
        return { allowed: allowed === 1, remaining: Number(remaining), retryAfterMs: Number(retryAfterMs) };
      } catch (error) {
        degrade(error instanceof Error ? error.message : String(error));
        return fallback.take(key, cost, rule);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Redis buckets when the cache is Redis (real mode), memory buckets otherwise (embedded mode). */
export function tokenBucketsOf(cache: Cache, log: { warn(obj: object, msg: string): void; info?(msg: string): void }): TokenBuckets {
  return cache.redis ? createRedisTokenBuckets(cache.redis, { log }) : createMemoryTokenBuckets();
}
