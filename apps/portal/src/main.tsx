import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createPortalClient, errorCode, TRPCProvider } from './trpc';
import './styles.css';

function Root() {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            // 4xx answers are final (no session, not found): no retries that only delay the message.
            retry: (count, error) =>
              count < 2 && !['unauthorized', 'not_found', 'forbidden'].includes(errorCode(error) ?? ''),
            refetchOnWindowFocus: false,
          },
        },
      }),
  );
  const [trpcClient] = useState(createPortalClient);
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <App />
      </TRPCProvider>
    </QueryClientProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
