// Sign up: the handle becomes the first alias (@handle); then log in straight away.
import { useState } from 'react';
import { api } from '../api.ts';
import { ErrorText, Field, navigate, Section, useSubmit } from '../ui.tsx';

export function SignUp() {
  const [handle, setHandle] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    const name = handle.trim().replace(/^@/, '');
    await api.signUp(name, password, displayName.trim());
    await api.logIn(name, password);
    navigate('/accounts');
  });

  return (
    <Section title="Sign up">
      <form onSubmit={submit}>
        <Field label="Handle" name="handle" hint="3 to 30 of a-z, 0-9, _ and . — people pay you at @handle" autoComplete="username" required value={handle} onChange={(e) => setHandle(e.target.value)} />
        <Field label="Your name" name="displayName" hint="Payers see it masked, like “Ana P.”" autoComplete="name" required value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
        <Field label="Password" name="password" type="password" hint="At least 10 characters" autoComplete="new-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing up…' : 'Sign up'}
        </button>
      </form>
    </Section>
  );
}
