import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ProblemError, session as readSession, signOut, tokenStore, type Session } from './api';
import { ReleasePage } from './release-page';
import { ReleasesPage } from './releases-page';
import { SignIn } from './sign-in';
import './styles.css';

/** Pages by the URL's fragment (`#/`, `#/releases/<id>`): a static page, so the server needs no route per page. */
const route = (): { page: 'list' } | { page: 'release'; releaseId: string } => {
  const match = /^#\/releases\/([a-z0-9-]{1,53})$/.exec(location.hash);
  return match ? { page: 'release', releaseId: match[1] } : { page: 'list' };
};

const App = () => {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(tokenStore.get() !== null);
  const [where, setWhere] = useState(route);

  useEffect(() => {
    const onHash = () => setWhere(route());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    // A token kept from earlier in this tab: still good?
    if (!checking) return;
    readSession()
      .then(setSession)
      .catch((error) => {
        if (error instanceof ProblemError && error.problem.status === 401) signOut();
      })
      .finally(() => setChecking(false));
  }, [checking]);

  if (checking) return <main class="page"><p role="status">Checking the saved token…</p></main>;
  if (!session) return <SignIn onSignedIn={setSession} />;
  return (
    <>
      <header class="bar">
        <a class="brand" href="#/">Helm release rollbacks</a>
        <span class="who" data-testid="who">
          {session.subject} <span class="muted">({[...new Set(session.grants.map((g) => g.role))].join(', ') || 'no grants'})</span>
        </span>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            signOut();
            setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      {where.page === 'release' ? <ReleasePage key={where.releaseId} releaseId={where.releaseId} session={session} /> : <ReleasesPage />}
    </>
  );
};

render(<App />, document.getElementById('app')!);
