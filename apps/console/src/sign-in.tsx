import { useState } from 'preact/hooks';
import { ProblemError, signIn, type Session } from './api';

/** Sign-in with a bearer token (a static token of AUTH_TOKENS or an OIDC access token pasted in). */
export const SignIn = ({ onSignedIn }: { onSignedIn: (session: Session) => void }) => {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSignedIn(await signIn(token.trim()));
    } catch (e) {
      setError(e instanceof ProblemError ? (e.problem.status === 401 ? 'That token is not valid.' : e.problem.detail) : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="page narrow">
      <h1>Helm release rollbacks</h1>
      <form onSubmit={submit} class="card">
        <label for="token">Access token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        <p class="muted">The token stays in this tab only; closing it signs you out.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
      </form>
    </main>
  );
};
