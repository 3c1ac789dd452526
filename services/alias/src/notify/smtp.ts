// E-mail over SMTP with nodemailer: SMTP_URL (smtp://user:pass@host:587, smtps://… for implicit
// TLS; STARTTLS is used whenever the server offers it) and SMTP_FROM.
//
// Sending is never retried here (a second attempt may deliver the code twice; the user can ask for
// another) and goes through a circuit breaker, so an SMTP server that is down costs one timeout per
// few requests instead of one per request. Timeouts stay under the gateway's 10 s upstream timeout.
import nodemailer from 'nodemailer';
import { createBreaker } from '@wallet/kit';
import type { Notification, Notifier } from './notifier.ts';

export function createSmtpNotifier(url: string, from: string): Notifier {
  const transport = nodemailer.createTransport({ url, connectionTimeout: 3000, greetingTimeout: 3000, socketTimeout: 5000 });
  const breaker = createBreaker('smtp', async (notification: Notification) => {
    await transport.sendMail({ from, to: notification.to, subject: notification.subject, text: notification.text });
  });
  return {
    async send(notification: Notification) {
      await breaker.fire(notification);
    },
    async close() {
      breaker.shutdown();
      transport.close();
    },
  };
}
