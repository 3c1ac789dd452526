// Balance alerts: POST, GET /v1/accounts/{id}/balance-alerts and DELETE …/{alertId}. Owners and
// operators, as for the balance itself. An alert watches the AVAILABLE balance (posted − pending +
// overdraft limit) and publishes `balance.alert_triggered` once per crossing under `below`.
import { Type } from 'typebox';
import { authenticate, callerOf, ProblemError, requireAnyScope, scopes, type App, type Db, type TokenVerifier } from '@wallet/kit';
import { problems, Uuid } from '@wallet/contracts';
import { parseThreshold } from '../domain/alerts.ts';
import { isUuid } from '../domain/entry.ts';
import { createAlert, deleteAlert, listAlerts, type Alert } from '../store/alerts.ts';
import { visibleBalance } from './history-routes.ts';

export interface AlertRoutesOptions {
  verifier: TokenVerifier;
  db: Db;
  /** Alerts one account may hold. */
  perAccountMax: number;
}

const ThresholdString = Type.String({
  pattern: '^(0|[1-9][0-9]{0,18})$',
  description: 'Minor units as a digit string: the alert fires when the available balance goes under it',
  examples: ['5000'],
});

const BalanceAlert = Type.Object({
  id: Uuid,
  accountId: Uuid,
  below: ThresholdString,
  state: Type.Union([Type.Literal('armed'), Type.Literal('triggered')], {
    description: 'armed: available is at or above `below`, the next crossing fires; triggered: it is under, and fires again only after coming back',
  }),
  triggerCount: Type.Integer({ minimum: 0, description: 'Crossings so far (events published)' }),
  lastTriggeredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

const AccountParams = Type.Object({ id: Type.String({ description: 'Account id (UUID)' }) });
const AlertParams = Type.Object({ id: Type.String({ description: 'Account id (UUID)' }), alertId: Type.String({ description: 'Alert id (UUID)' }) });

function toBody(alert: Alert) {
  return {
    id: alert.id,
    accountId: alert.accountId,
    below: alert.below.toString(),
    state: alert.state,
    triggerCount: alert.triggerCount,
    lastTriggeredAt: alert.lastTriggeredAt,
    createdAt: alert.createdAt,
  };
}

export async function alertRoutes(app: App, { verifier, db, perAccountMax }: AlertRoutesOptions): Promise<void> {
  await app.register(async (scope: App) => {
    scope.addHook('onRequest', authenticate(verifier));
    scope.addHook('onRequest', requireAnyScope(scopes.user, scopes.operator));
    const tags = ['balances'];
    const security = [{ bearer: [] }];

    scope.post(
      '/v1/accounts/:id/balance-alerts',
      {
        schema: {
          summary: 'Set an alert on the available balance',
          description:
            'Publishes `balance.alert_triggered` each time the available balance (posted − pending + overdraft limit) goes from ' +
            '`below` or more to under it — once per crossing, not per entry under it; coming back to `below` or more re-arms it. ' +
            `An alert made while the balance is already under starts triggered. At most ${perAccountMax} per account.`,
          tags,
          security,
          params: AccountParams,
          body: Type.Object({ below: ThresholdString }),
          response: { 201: BalanceAlert, ...problems(400, 401, 404, 422) },
        },
      },
      async (request, reply) => {
        const account = await visibleBalance(db, request.params.id, callerOf(request));
        const below = parseThreshold(request.body.below);
        if (below === undefined) throw new ProblemError('validation_failed', '`below` is above 9223372036854775807');
        const created = await createAlert(db, account.accountId, below, perAccountMax);
        if (!created.ok) {
          if (created.reason === 'limit_reached') throw new ProblemError('balance_alert_limit_reached', undefined, { max: perAccountMax });
          throw new ProblemError('account_not_found');
        }
        return reply.code(201).send(toBody(created.alert));
      },
    );

    scope.get(
      '/v1/accounts/:id/balance-alerts',
      {
        schema: {
          summary: "The account's balance alerts, oldest first",
          tags,
          security,
          params: AccountParams,
          response: { 200: Type.Object({ items: Type.Array(BalanceAlert) }), ...problems(401, 404) },
        },
      },
      async (request) => {
        const account = await visibleBalance(db, request.params.id, callerOf(request));
        return { items: (await listAlerts(db, account.accountId)).map(toBody) };
      },
    );

    scope.delete(
      '/v1/accounts/:id/balance-alerts/:alertId',
      {
        schema: {
          summary: 'Remove a balance alert',
          tags,
          security,
          params: AlertParams,
          response: { 204: Type.Null(), ...problems(401, 404) },
        },
      },
      async (request, reply) => {
        const account = await visibleBalance(db, request.params.id, callerOf(request));
        const { alertId } = request.params;
        if (!isUuid(alertId) || !(await deleteAlert(db, account.accountId, alertId.toLowerCase()))) throw new ProblemError('balance_alert_not_found');
        return reply.code(204).send(null);
      },
    );
  });
}
