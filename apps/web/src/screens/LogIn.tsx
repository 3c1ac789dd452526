// Log in with the handle and password; the second factor is asked for once the API says it is on.
import { useState } from 'react';
import { api, ApiError } from '../api.ts';
import { ErrorText, Field, Link, navigate, Section, useSubmit } from '../ui.tsx';

export function LogIn() {
  const [handle, setHandle] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const { busy, error, submit } = useSubmit(
    async () => {
      await api.logIn(handle.trim(), password, needsCode ? code.trim() : undefined);
      navigate('/accounts');
    },
    (err) => {
      if (err instanceof ApiError && err.problem.code === 'mfa_required') setNeedsCode(true);
    },
  );

  return (
    <Section title="Log in">
      <form onSubmit={submit}>
        <Field label="Handle" name="handle" autoComplete="username" required value={handle} onChange={(e) => setHandle(e.target.value)} />
        <Field label="Password" name="password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        {needsCode && (
          <Field
            label="Authenticator code"
            name="totp"
            hint="6 digits from your authenticator app, or one of your recovery codes"
            autoComplete="one-time-code"
            autoFocus
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
          />
        )}
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p>
        New here? <Link to="/signup">Sign up</Link>
      </p>
    </Section>
  );
}
