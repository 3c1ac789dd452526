// Embedded mode only: the last messages the log notifier "sent", kept in this process so that a
// test (or a developer's script) running the embedded stack in the same process can read a code
// without parsing logs. Never reachable over HTTP, never filled in real mode; the same codes are in
// the embedded mode's log anyway, which is their delivery channel there.
import type { Notification } from './notifier.ts';

const kept: Notification[] = [];
const KEPT_MAX = 200;

export const embeddedOutbox = {
  record(notification: Notification): void {
    kept.push({ ...notification });
    if (kept.length > KEPT_MAX) kept.splice(0, kept.length - KEPT_MAX);
  },
  /** Messages to `to` (all of them without it), oldest first. */
  messages(to?: string): Notification[] {
    return kept.filter((n) => to === undefined || n.to.toLowerCase() === to.toLowerCase()).map((n) => ({ ...n }));
  },
  /** The newest message to `to`. */
  latest(to: string): Notification | undefined {
    return this.messages(to).at(-1);
  },
};
