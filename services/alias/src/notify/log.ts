// The notifier of development: messages are written to the service log (and, in embedded mode, to
// the in-process outbox). It delivers nothing to anyone: real deployments set SMTP_URL for e-mail
// and plug an SMS provider in (see notifier.ts).
import type { Notification, Notifier } from './notifier.ts';
import { embeddedOutbox } from './outbox.ts';

export function createLogNotifier(log: { info(obj: object, msg: string): void }, options: { label: string; keepInOutbox: boolean }): Notifier {
  return {
    async send(notification: Notification) {
      log.info({ notification: { channel: notification.channel, to: notification.to, subject: notification.subject, text: notification.text } }, `${options.label} (written to the log, not delivered)`);
      if (options.keepInOutbox) embeddedOutbox.record(notification);
    },
    async close() {},
  };
}
