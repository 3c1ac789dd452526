// E-mail over SMTP with nodemailer: SMTP_URL (smtp://user:pass@host:587, smtps://… for implicit
// TLS; STARTTLS is used whenever the server offers it) and SMTP_FROM.
import nodemailer from 'nodemailer';
import type { Notification, Notifier } from './notifier.ts';

export function createSmtpNotifier(url: string, from: string): Notifier {
  const transport = nodemailer.createTransport({ url, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10_000 });
  return {
    async send(notification: Notification) {
      await transport.sendMail({ from, to: notification.to, subject: notification.subject, text: notification.text });
    },
    async close() {
      transport.close();
    },
  };
}
