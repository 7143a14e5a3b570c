import type { FormEvent } from 'react';
import { useState } from 'react';

/**
 * Without a session: a project's developers open the link their dashboard
 * gives them; the operator signs in with the admin token.
 */
export function SignInPage() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const token = String(new FormData(event.currentTarget).get('token') ?? '');
    const response = await fetch('/portal/operator/sign-in', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    setBusy(false);
    if (response.ok) {
      window.location.assign('/portal/');
      return;
    }
    const body = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    setError(body?.error?.message ?? `Sign-in failed (${response.status})`);
  };
  return (
    <main id="main" className="narrow">
      <h1 tabIndex={-1}>Herald portal</h1>
      <p>
        To manage a project's webhooks, open the portal link your application gave you. Links work once, for 15 minutes.
      </p>
      <h2>Operator sign-in</h2>
      <form className="form" onSubmit={submit}>
        <label htmlFor="token">Admin token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" required />
        {error && (
          <p className="note note-error" role="alert">
            <span aria-hidden="true">✖ </span>
            {error}
          </p>
        )}
        <div className="actions">
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </div>
      </form>
    </main>
  );
}
