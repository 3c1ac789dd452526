// Picks a notifier per channel from the configuration.
import { createLogNotifier } from './log.ts';
import type { Notification, Notifier } from './notifier.ts';
import { createSmtpNotifier } from './smtp.ts';

export type { Notification, NotificationChannel, Notifier } from './notifier.ts';
export { embeddedOutbox } from './outbox.ts';

export interface NotifyConfig {
  mode: 'embedded' | 'real';
  smtpUrl: string | undefined;
  smtpFrom: string;
}

/**
 * E-mail: SMTP when SMTP_URL is set, the log otherwise (with a warning at start in real mode, where
 * nobody would receive a code). SMS: the log in both modes, until a provider is plugged in here.
 * In embedded mode logged messages are also kept in the in-process outbox (outbox.ts).
 */
export function createNotifier(config: NotifyConfig, log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void }): Notifier {
  const keepInOutbox = config.mode === 'embedded';
  const email = config.smtpUrl ? createSmtpNotifier(config.smtpUrl, config.smtpFrom) : createLogNotifier(log, { label: 'e-mail', keepInOutbox });
  const sms = createLogNotifier(log, { label: 'SMS', keepInOutbox });
  if (!config.smtpUrl && config.mode === 'real') {
    log.warn({}, 'SMTP_URL is not set: verification e-mails are written to the log, not sent');
  }
  if (config.mode === 'real') log.warn({}, 'no SMS provider: verification texts are written to the log, not sent');
  return {
    send: (notification: Notification) => (notification.channel === 'sms' ? sms : email).send(notification),
    async close() {
      await Promise.all([email.close(), sms.close()]);
    },
  };
}
