// The frame: who is logged in decides the screens; a skip link and one <main> for keyboards and
// screen readers; the navigation wraps on a phone.
import { useEffect, useRef, useState } from 'react';
import { api, currentSession, onSession } from './api.ts';
import type { Session } from './session.ts';
import { Link, navigate, usePath } from './ui.tsx';
import { LogIn } from './screens/LogIn.tsx';
import { SignUp } from './screens/SignUp.tsx';
import { OperatorLogIn } from './screens/OperatorLogIn.tsx';
import { Accounts } from './screens/Accounts.tsx';
import { Send } from './screens/Send.tsx';
import { History } from './screens/History.tsx';
import { Aliases } from './screens/Aliases.tsx';
import { Security } from './screens/Security.tsx';
import { Operator } from './screens/Operator.tsx';

const personScreens = [
  { path: '/accounts', label: 'Accounts', screen: Accounts },
  { path: '/send', label: 'Send', screen: Send },
  { path: '/history', label: 'History', screen: History },
  { path: '/aliases', label: 'Aliases', screen: Aliases },
  { path: '/security', label: 'Security', screen: Security },
];
const guestScreens = [
  { path: '/login', label: 'Log in', screen: LogIn },
  { path: '/signup', label: 'Sign up', screen: SignUp },
  { path: '/operator/login', label: 'Operator', screen: OperatorLogIn },
];
const operatorScreens = [{ path: '/operator', label: 'Console', screen: Operator }];

function screensOf(session: Session | undefined) {
  if (!session) return guestScreens;
  return session.kind === 'operator' ? operatorScreens : personScreens;
}

export function App() {
  const [session, setSessionState] = useState(currentSession());
  const path = usePath();
  const main = useRef<HTMLElement>(null);
  useEffect(() => onSession(setSessionState), []);

  const screens = screensOf(session);
  const current = screens.find((s) => s.path === path);
  useEffect(() => {
    if (!current) navigate(screens[0]!.path);
  }, [current, screens]);
  // A new screen: move focus to it so screen readers announce it and Tab starts there.
  useEffect(() => {
    main.current?.focus();
    const heading = current ? `${current.label} — Wallet` : 'Wallet';
    document.title = heading;
  }, [current]);

  const Screen = current?.screen;
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Wallet</span>
        <nav aria-label="Main">
          <ul>
            {screens.map((s) => (
              <li key={s.path}>
                <Link to={s.path} current={s.path === path}>
                  {s.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        {session && (
          <div className="who">
            <span>{session.kind === 'operator' ? `Operator ${session.name}` : `@${session.name}`}</span>
            <button type="button" className="link" onClick={() => void api.logOut().then(() => navigate('/login'))}>
              Log out
            </button>
          </div>
        )}
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {Screen && <Screen key={session?.accessToken ? session.name : 'guest'} />}
      </main>
    </>
  );
}
