// Aliases: add an e-mail or phone, enter the code sent there, choose the account that receives
// through each alias per currency, remove one.
import { useState, type FormEvent } from 'react';
import { api, type Account, type OwnAlias } from '../api.ts';
import { describe, ErrorText, Field, Section, Status, useLoad } from '../ui.tsx';

export function Aliases() {
  const list = useLoad(() => Promise.all([api.aliases(), api.accounts()]));
  const [type, setType] = useState<'email' | 'phone'>('email');
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [status, setStatus] = useState<string>();

  const act = async (what: () => Promise<unknown>, done: string) => {
    setError(undefined);
    setStatus(undefined);
    try {
      await what();
      setStatus(done);
      list.reload();
    } catch (err) {
      setError(describe(err));
    }
  };

  const add = (event: FormEvent) => {
    event.preventDefault();
    void act(() => api.addAlias(type, value.trim()), `Added ${value.trim()}: enter the code we sent there.`).then(() => setValue(''));
  };

  const [aliases, accounts] = list.data ?? [undefined, undefined];
  return (
    <>
      <Section title="Your aliases">
        <ErrorText error={list.error ?? error} />
        <Status text={status} />
        <ul className="aliases">
          {aliases?.aliases.map((alias) => (
            <AliasItem key={alias.id} alias={alias} accounts={accounts ?? []} act={act} />
          ))}
        </ul>
        {aliases && (
          <p className="small">
            {aliases.aliases.length} of {aliases.max} aliases used.
          </p>
        )}
      </Section>
      <Section title="Add an alias">
        <form onSubmit={add}>
          <fieldset>
            <legend>Type</legend>
            <label className="inline">
              <input type="radio" name="alias-type" checked={type === 'email'} onChange={() => setType('email')} /> E-mail
            </label>
            <label className="inline">
              <input type="radio" name="alias-type" checked={type === 'phone'} onChange={() => setType('phone')} /> Phone
            </label>
          </fieldset>
          <Field
            label={type === 'email' ? 'E-mail address' : 'Phone number'}
            name="alias-value"
            type={type === 'email' ? 'email' : 'tel'}
            hint={type === 'phone' ? 'With + and the country code, like +5511987654321' : undefined}
            required
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
          <button type="submit">Add and send a code</button>
        </form>
      </Section>
    </>
  );
}

type Act = (what: () => Promise<unknown>, done: string) => Promise<void>;

function AliasItem({ alias, accounts, act }: { alias: OwnAlias; accounts: Account[]; act: Act }) {
  const [code, setCode] = useState('');
  const [link, setLink] = useState('');
  const usable = accounts.filter((a) => a.status === 'active');
  const linked = (currency: string) => alias.accounts.find((l) => l.currency === currency);

  return (
    <li className="alias">
      <h3>
        {alias.alias} <span className="tag">{alias.type}</span>
        {alias.status === 'pending' && <span className="tag warn">waiting for the code</span>}
      </h3>
      {alias.status === 'pending' && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            void act(() => api.verifyAlias(alias.id, code.trim()), `${alias.alias} is verified.`);
          }}
        >
          <Field label={`Code sent to ${alias.alias}`} name="code" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required value={code} onChange={(e) => setCode(e.target.value)} />
          <button type="submit" aria-label={`Verify ${alias.alias}`}>
            Verify
          </button>
          <button type="button" className="secondary" onClick={() => void act(() => api.resendCode(alias.id), 'A new code is on its way.')}>
            Send a new code
          </button>
        </form>
      )}
      {alias.accounts.length > 0 && (
        <ul className="small">
          {alias.accounts.map((l) => (
            <li key={l.currency}>
              Receives {l.currency} into {accounts.find((a) => a.id === l.accountId)?.name ?? l.accountId}{' '}
              <button
                type="button"
                className="link"
                aria-label={`Unlink ${l.currency} from ${alias.alias}`}
                onClick={() => void act(() => api.unlinkAlias(alias.id, l.currency), `Unlinked ${l.currency}.`)}
              >
                Unlink {l.currency}
              </button>
            </li>
          ))}
        </ul>
      )}
      {alias.status === 'active' && usable.length > 0 && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            const account = usable.find((a) => a.id === link) ?? usable[0]!;
            void act(() => api.linkAlias(alias.id, account.currency, account.id), `${alias.alias} now receives ${account.currency} into ${account.name}.`);
          }}
        >
          <div className="field">
            <label htmlFor={`link-${alias.id}`}>Receive into</label>
            <select id={`link-${alias.id}`} value={link} onChange={(e) => setLink(e.target.value)}>
              {usable.map((a) => (
                <option key={a.id} value={a.id}>
                  {a.name} ({a.currency}){linked(a.currency)?.accountId === a.id ? ' — linked' : ''}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" aria-label={`Link ${alias.alias}`}>
            Link
          </button>
        </form>
      )}
      {alias.type !== 'handle' && (
        <button type="button" className="danger" onClick={() => void act(() => api.removeAlias(alias.id), `Removed ${alias.alias}.`)}>
          Remove {alias.alias}
        </button>
      )}
    </li>
  );
}
