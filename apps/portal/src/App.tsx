import { useQuery } from '@tanstack/react-query';
import { ErrorNote } from './components/Notes';
import { Shell } from './components/Shell';
import { DeliveriesPage } from './pages/DeliveriesPage';
import { DeliveryPage } from './pages/DeliveryPage';
import { EndpointFormPage } from './pages/EndpointFormPage';
import { EndpointPage } from './pages/EndpointPage';
import { EndpointsPage } from './pages/EndpointsPage';
import { EventTypesPage } from './pages/EventTypesPage';
import { OperatorPage } from './pages/OperatorPage';
import { SignInPage } from './pages/SignInPage';
import { useFocusHeading, useLocation } from './router';
import { useTRPC } from './trpc';

/** Who is signed in decides what the portal shows: a project's pages, the operator view, or the sign-in page. */
export function App() {
  const trpc = useTRPC();
  const session = useQuery(trpc.portal.session.queryOptions());
  const { path, query } = useLocation();
  // Another page of a list (`?cursor=`) is a new page too: focus goes to its heading, not left on a
  // pager link that may be gone.
  useFocusHeading(`${path}?${query}`);

  if (session.isPending) return <p className="loading">Loading…</p>;
  if (session.isError) {
    return (
      <main>
        <ErrorNote error={session.error} />
      </main>
    );
  }
  if (session.data === null) return <SignInPage />;
  if (session.data.kind === 'operator') {
    return (
      <Shell session={session.data}>
        <OperatorPage />
      </Shell>
    );
  }
  return <Shell session={session.data}>{projectPage(path)}</Shell>;
}

function projectPage(path: string) {
  const [section, id, action] = path.split('/');
  if (section === 'endpoints' && id === 'new') return <EndpointFormPage />;
  if (section === 'endpoints' && id && action === 'edit') return <EndpointFormPage id={id} />;
  if (section === 'endpoints' && id) return <EndpointPage id={id} />;
  if (section === 'deliveries' && id) return <DeliveryPage id={id} />;
  if (section === 'deliveries') return <DeliveriesPage />;
  if (section === 'event-types') return <EventTypesPage />;
  return <EndpointsPage />;
}
