// Who is logged in. Kept in sessionStorage: survives a reload, ends with the tab.
export interface Session {
  kind: 'person' | 'operator';
  name: string;
  accessToken: string;
  refreshToken?: string;
}

const KEY = 'wallet.session';

export function loadSession(): Session | undefined {
  try {
    const text = sessionStorage.getItem(KEY);
    return text ? (JSON.parse(text) as Session) : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(KEY, JSON.stringify(session));
  else sessionStorage.removeItem(KEY);
}
