import type { ReactNode } from 'react';
import { Link, navigate, useLocation } from '../router';
import { csrfHeaders } from '../trpc';

interface Session {
  kind: 'project' | 'operator';
  project: { id: string; name: string } | null;
}

const NAV = [
  { to: '', label: 'Endpoints', section: '' },
  { to: 'deliveries', label: 'Delivery log', section: 'deliveries' },
  { to: 'event-types', label: 'Event catalog', section: 'event-types' },
];

/** Header, navigation and the page. */
export function Shell({ session, children }: { session: Session; children: ReactNode }) {
  const { path } = useLocation();
  const section = path.split('/')[0] === 'endpoints' ? '' : path.split('/')[0];
  const signOut = async () => {
    // The header goes even empty (a session that ended took its cookie): the API signs out no request without it.
    await fetch('/portal/sign-out', { method: 'POST', headers: { 'x-herald-csrf': '', ...csrfHeaders() } });
    navigate('', { replace: true });
    window.location.reload();
  };
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <span aria-hidden="true">◆</span> Herald portal
          <span className="scope">
            {session.kind === 'operator' ? 'Operator' : (session.project?.name ?? session.project?.id)}
          </span>
        </div>
        {session.kind === 'project' && (
          <nav aria-label="Portal">
            <ul>
              {NAV.map((item) => (
                <li key={item.to}>
                  <Link to={item.to} aria-current={section === item.section ? 'page' : undefined}>
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <button type="button" className="link-button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">{children}</main>
    </>
  );
}
