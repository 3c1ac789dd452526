// The second factor (TOTP): turn it on with the password and a first code (recovery codes are shown
// once), or off with the password and a code.
import { useState, type FormEvent } from 'react';
import { api } from '../api.ts';
import { describe, ErrorText, Field, Section, Status, useLoad } from '../ui.tsx';

export function Security() {
  const state = useLoad(() => api.totpStatus());
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [enrolment, setEnrolment] = useState<{ secret: string; otpauthUri: string }>();
  const [recovery, setRecovery] = useState<string[]>();
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();

  const run = (what: () => Promise<void>) => async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    setStatus(undefined);
    try {
      await what();
      setPassword('');
      setCode('');
    } catch (err) {
      setError(describe(err));
    }
  };

  const enrol = run(async () => setEnrolment(await api.totpEnrol(password)));
  const confirm = run(async () => {
    setRecovery((await api.totpConfirm(code.trim())).recoveryCodes);
    setEnrolment(undefined);
    setStatus('The second factor is on.');
    state.reload();
  });
  const disable = run(async () => {
    await api.totpDisable(password, code.trim());
    setStatus('The second factor is off.');
    state.reload();
  });

  const enabled = state.data?.enabled === true;
  return (
    <Section title="Second factor (authenticator app)">
      <ErrorText error={state.error ?? error} />
      <Status text={status} />
      {state.data && <p>{enabled ? 'On: logging in asks for a code from your app.' : 'Off: logging in needs only your password.'}</p>}
      {recovery && (
        <div className="confirm">
          <p>Recovery codes — keep them somewhere safe; each works once if you lose your phone:</p>
          <ul className="codes">
            {recovery.map((c) => (
              <li key={c}>
                <code>{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {!enabled && !enrolment && (
        <form onSubmit={enrol}>
          <Field label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          <button type="submit">Set up an authenticator</button>
        </form>
      )}
      {enrolment && (
        <form onSubmit={confirm}>
          <p>
            Add this key to your authenticator app: <code className="secret">{enrolment.secret}</code> (or open <a href={enrolment.otpauthUri}>the otpauth link</a> on your phone).
          </p>
          <Field label="First code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          <button type="submit">Turn on</button>
        </form>
      )}
      {enabled && (
        <form onSubmit={disable}>
          <Field label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          <Field label="Code from the app" name="code" inputMode="numeric" autoComplete="one-time-code" required value={code} onChange={(e) => setCode(e.target.value)} />
          <button type="submit" className="danger">
            Turn off
          </button>
        </form>
      )}
    </Section>
  );
}
