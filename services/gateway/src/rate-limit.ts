// Rate limits with @fastify/rate-limit: fixed windows counted in Redis (shared by every gateway
// replica) in real mode, in memory in embedded mode.
//
// When Redis is down or slow the limiter does not fail requests and does not stop limiting: it
// counts in this process's memory until Redis answers again (so while Redis is out the limit is
// per replica). That is the store below, not the plugin's `skipOnError`, which would switch
// limiting off exactly when the system is under stress.
import rateLimit, { normalizeIP, type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import { ProblemError, type App } from '@wallet/kit';
import type { RateLimitConfig } from './config.ts';

type Counted = { current: number; ttl: number };

export interface Limiters {
  /** Per IP, tight: sign-up and the token endpoint. */
  credentials: onRequestHookHandler;
  /** Per IP: public routes and the docs. */
  anonymous: onRequestHookHandler;
  /** Per caller (token subject) once `request.caller` is set, per IP (anonymous budget) otherwise. */
  caller: onRequestHookHandler;
}

/** Fixed-window counters in this process, bounded in size (oldest keys go first). */
export class MemoryCounter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  private readonly keysMax: number;
  constructor(keysMax = 50_000) {
    this.keysMax = keysMax;
  }

  incr(key: string, windowMs: number, now = Date.now()): Counted {
    let entry = this.windows.get(key);
    if (!entry || entry.resetAt <= now) {
      this.windows.delete(key);
      if (this.windows.size >= this.keysMax) {
        const oldest = this.windows.keys().next();
        if (!oldest.done) this.windows.delete(oldest.value);
      }
      entry = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, entry);
    }
    entry.count += 1;
    return { current: entry.count, ttl: entry.resetAt - now };
  }
}

const incrScript = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}`;

type RedisWithLimit = Redis & { gatewayRateLimit(key: string, windowMs: number): Promise<[number, number]> };

/** States in which ioredis is not connected and will not be soon: count locally without waiting. */
const redisDown = new Set(['reconnecting', 'close', 'end']);

export const rateLimitKeyPrefix = 'gateway:rl:';

export function fallbackStore(redis: Redis | undefined, timeoutMs: number, log: FastifyBaseLogger): FastifyRateLimitStoreCtor {
  const memory = new MemoryCounter();
  let limited: RedisWithLimit | undefined;
  if (redis) {
    if (!('gatewayRateLimit' in redis)) redis.defineCommand('gatewayRateLimit', { numberOfKeys: 1, lua: incrScript });
    limited = redis as RedisWithLimit;
  }
  let degraded = false;
  const degrade = (reason: string) => {
    if (!degraded) log.warn({ reason }, 'rate limits counted in memory until Redis answers');
    degraded = true;
  };

  const viaRedis = async (client: RedisWithLimit, key: string, windowMs: number): Promise<Counted> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const [current, ttl] = await Promise.race([client.gatewayRateLimit(rateLimitKeyPrefix + key, windowMs), timeout]);
      if (degraded) log.info('rate limits counted in Redis again');
      degraded = false;
      return { current, ttl };
    } finally {
      clearTimeout(timer);
    }
  };

  const count = async (key: string, windowMs: number): Promise<Counted> => {
    if (!limited) return memory.incr(key, windowMs);
    if (redisDown.has(limited.status)) {
      degrade(`redis ${limited.status}`);
      return memory.incr(key, windowMs);
    }
    try {
      return await viaRedis(limited, key, windowMs);
    } catch (error) {
      degrade((error as Error).message);
      return memory.incr(key, windowMs);
    }
  };

  return class FallbackStore implements FastifyRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: Counted) => void, timeWindow: number) {
      count(key, timeWindow).then(
        (result) => callback(null, result),
        (error: Error) => callback(error),
      );
    }

    // Every limiter builds its keys with its own prefix, so all of them can share one store.
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}

const clientIp = (request: FastifyRequest) => normalizeIP(request.ip);

export async function registerRateLimits(app: App, config: RateLimitConfig, redis: Redis | undefined): Promise<Limiters> {
  await app.register(rateLimit, {
    global: false,
    store: fallbackStore(redis, config.storeTimeoutMs, app.log),
    timeWindow: config.windowMs,
    // RateLimit-Limit / -Remaining / -Reset (IETF httpapi draft) on every limited response, and
    // Retry-After once the limit is reached.
    enableDraftSpec: true,
    errorResponseBuilder: (_request, context) =>
      new ProblemError('rate_limited', `Too many requests; retry in ${context.after}`, { retryAfterSeconds: Math.ceil(context.ttl / 1000) }),
  });
  const limiter = (options: Parameters<App['rateLimit']>[0]) => app.rateLimit(options) as onRequestHookHandler;
  return {
    credentials: limiter({ max: config.credentialsMax, keyGenerator: (request) => `credentials:${clientIp(request)}` }),
    anonymous: limiter({ max: config.anonymousMax, keyGenerator: (request) => `ip:${clientIp(request)}` }),
    caller: limiter({
      max: (request) => (request.caller ? config.callerMax : config.anonymousMax),
      keyGenerator: (request) => (request.caller ? `caller:${request.caller.subject}` : `ip:${clientIp(request)}`),
    }),
  };
}
