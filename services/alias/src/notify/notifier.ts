// How one-time codes (and later other notices) leave the wallet: one interface, one implementation
// per channel. E-mail goes over SMTP (nodemailer) when SMTP_URL is set; SMS has no provider yet and
// is written to the log — a provider (Twilio, SNS, a local aggregator…) plugs in as another
// `Notifier` for the `sms` channel in `createNotifier`, nothing else changes.

export type NotificationChannel = 'email' | 'sms';

export interface Notification {
  channel: NotificationChannel;
  /** An e-mail address, or a phone number in E.164. */
  to: string;
  subject: string;
  text: string;
}

export interface Notifier {
  /** Resolves once the message is handed over (to the SMTP server, the log…); rejects if it could not be. */
  send(notification: Notification): Promise<void>;
  close(): Promise<void>;
}
