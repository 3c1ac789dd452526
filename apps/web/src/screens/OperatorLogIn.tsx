// The operator logs in with the operator client's id and secret (printed by `npm start`).
import { useState } from 'react';
import { api } from '../api.ts';
import { ErrorText, Field, navigate, Section, useSubmit } from '../ui.tsx';

export function OperatorLogIn() {
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    await api.operatorLogIn(clientId.trim(), secret);
    navigate('/operator');
  });

  return (
    <Section title="Operator log in">
      <form onSubmit={submit}>
        <Field label="Client id" name="clientId" hint="OPERATOR_CLIENT_ID, as printed by npm start" required value={clientId} onChange={(e) => setClientId(e.target.value)} />
        <Field label="Client secret" name="clientSecret" type="password" required value={secret} onChange={(e) => setSecret(e.target.value)} />
        <ErrorText error={error} />
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in as operator'}
        </button>
      </form>
    </Section>
  );
}
