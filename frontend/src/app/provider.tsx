import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';

import { ToastProvider } from '@/components/ui/toast';
import { AuthBridge } from '@/lib/auth';
import { makeQueryClient } from '@/lib/query-client';

export function AppProvider({
  children,
  queryClient,
}: {
  children: ReactNode;
  queryClient?: QueryClient;
}) {
  const [client] = useState(() => queryClient ?? makeQueryClient());
  return (
    <QueryClientProvider client={client}>
      <ToastProvider>
        <AuthBridge>{children}</AuthBridge>
      </ToastProvider>
    </QueryClientProvider>
  );
}
