// What every money-moving route does with its request: the Idempotency-Key, the request's
// fingerprint, amounts, and sending a stored or fresh outcome.
import { createHash } from 'node:crypto';
import { callerOf, ProblemError } from '@wallet/kit';
import type { Request } from '../ledger/commands.ts';
import { parseAmount } from '@wallet/money';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Outcome } from '../ledger/service.ts';

const keyPattern = /^[\x21-\x7E]{1,255}$/;

export function idempotencyKey(request: FastifyRequest): string {
  const key = request.headers['idempotency-key'];
  if (typeof key !== 'string' || key === '') throw new ProblemError('idempotency_key_missing');
  if (!keyPattern.test(key)) throw new ProblemError('validation_failed', 'Idempotency-Key must be 1–255 visible ASCII characters');
  return key;
}

/** The route and body: the same key with another request (or on another route) is refused. */
export function fingerprint(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(JSON.stringify(body)).digest('base64url');
}

export function amountOf(text: string, max: bigint): bigint {
  const amount = parseAmount(text);
  if (amount === undefined) throw new ProblemError('validation_failed', 'amount must be a positive integer of minor units, as a string');
  if (amount > max) throw new ProblemError('amount_too_large', `The largest amount is ${max}`, { max: max.toString() });
  return amount;
}

export function send(reply: FastifyReply, outcome: Outcome) {
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  if (outcome.status >= 400) reply.type('application/problem+json');
  return reply.code(outcome.status).send(outcome.body);
}

/** For routes whose body is all optional: no body at all reads as `{}`. */
export async function emptyBodyAsObject(request: FastifyRequest) {
  request.body ??= {};
}

/** Who asks, under which key, for what: the part of every ledger command that idempotency is about. */
export function requestOf(request: FastifyRequest, route: string, body: unknown): Request {
  return { caller: callerOf(request), idempotencyKey: idempotencyKey(request), fingerprint: fingerprint(route, body), requestId: request.id };
}
