// Small shared pieces: labelled fields, error and status lines, amounts, a router, errors in words.
import { useEffect, useId, useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from 'react';
import { ApiError, NetworkError } from './api.ts';
import { digitsOf } from './currencies.ts';
import { formatAmount } from './money.ts';
import { explain } from './problems.ts';

export function Field({ label, hint, ...input }: { label: string; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...input} />
      {hint && (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

/** Read out as soon as it appears. */
export function ErrorText({ error }: { error?: string | undefined }) {
  return error ? (
    <p role="alert" className="error">
      {error}
    </p>
  ) : null;
}

export function Status({ text }: { text?: string | undefined }) {
  return (
    <p role="status" className="status">
      {text ?? ''}
    </p>
  );
}

export function Money({ minor, currency }: { minor: string; currency: string }) {
  return (
    <span className={`money${minor.startsWith('-') ? ' negative' : ''}`}>
      {formatAmount(minor, digitsOf(currency))} <abbr title={currency}>{currency}</abbr>
    </span>
  );
}

/** An error in words for people. */
export function describe(error: unknown, currency?: string): string {
  if (error instanceof ApiError) return explain(error.problem, currency);
  if (error instanceof NetworkError) return 'No answer from the server (network problem). Check your connection and try again.';
  return error instanceof Error ? error.message : String(error);
}

export function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

// A tiny router over the History API; the gateway answers every app path with index.html.
const pathListeners = new Set<(path: string) => void>();

export function navigate(path: string): void {
  if (path === location.pathname + location.search) return;
  history.pushState(null, '', path);
  for (const listener of pathListeners) listener(path);
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    pathListeners.add(update);
    addEventListener('popstate', update);
    return () => {
      pathListeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

export function Link({ to, children, current }: { to: string; children: ReactNode; current?: boolean }) {
  return (
    <a
      href={to}
      aria-current={current ? 'page' : undefined}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

/** Data loaded when the screen opens (and again on reload()). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data?: T; error?: string; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string }>({});
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data }),
      (error: unknown) => live && setState({ error: describe(error) }),
    );
    return () => {
      live = false;
    };
  }, [round, ...deps]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}

/** A form's submit: busy while the action runs, its error in words (`onError` sees the error first). */
export function useSubmit(action: () => Promise<void>, onError?: (error: unknown) => void): { busy: boolean; error?: string; submit: (event: FormEvent) => Promise<void> } {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      onError?.(err);
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}
