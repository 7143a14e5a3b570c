import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createPortalClient, isFinalAnswer, TRPCProvider } from './trpc';
import './styles.css';

function Root() {
  const [queryClient] = useState(
    () =>
      new QueryClient({
        defaultOptions: {
          queries: {
            // 4xx answers are final (no session, not found, a bad cursor in the address): no retries
            // that only delay the message. 429 and 5xx, or no answer, are worth two more tries.
            retry: (count, error) => count < 2 && !isFinalAnswer(error),
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
