import {
  queryOptions,
  useMutation,
  useQuery,
  useQueryClient,
  type QueryClient,
} from '@tanstack/react-query';
import { useEffect, useSyncExternalStore, type ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';

import { client, data, setUnauthorizedHandler } from '@/api/client';
import type { components } from '@/api/schema';
import { LoadingBlock } from '@/components/ui/spinner';
import { getToken, onTokenChange, setToken } from '@/lib/auth-token';

export type Me = components['schemas']['Me'];
type Token = components['schemas']['Token'];

const EXPIRED_KEY = 'rebook.session-expired';

export const meQueryOptions = () =>
  queryOptions({
    queryKey: ['auth', 'me'],
    queryFn: ({ signal }) => data(client.GET('/auth/me', { signal })),
    staleTime: 5 * 60_000,
  });

export function useToken(): string | null {
  return useSyncExternalStore(onTokenChange, getToken, () => null);
}

export function useUser() {
  const token = useToken();
  return useQuery({ ...meQueryOptions(), enabled: Boolean(token) });
}

export interface LoginInput {
  email: string;
  password: string;
}

export async function login({ email, password }: LoginInput): Promise<Token> {
  return data(
    client.POST('/auth/login', {
      body: { username: email, password },
      // OAuth2's password flow posts a form, not JSON.
      bodySerializer: (body) => new URLSearchParams(body),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
  );
}

export function useLogin() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: login,
    onSuccess: (token) => {
      queryClient.clear();
      window.sessionStorage.removeItem(EXPIRED_KEY);
      setToken(token.access_token);
    },
  });
}

export function logout(queryClient: QueryClient): void {
  setToken(null);
  queryClient.clear();
}

export function useLogout() {
  const queryClient = useQueryClient();
  return () => logout(queryClient);
}

/** True once after the API refused an expired token (the login page says so). */
export function consumeSessionExpired(): boolean {
  const expired = window.sessionStorage.getItem(EXPIRED_KEY) === '1';
  window.sessionStorage.removeItem(EXPIRED_KEY);
  return expired;
}

/** Sends the owner back to login when the API answers 401 to their token. */
export function AuthBridge({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  useEffect(() => {
    setUnauthorizedHandler(() => {
      window.sessionStorage.setItem(EXPIRED_KEY, '1');
      setToken(null);
      queryClient.clear();
    });
    return () => setUnauthorizedHandler(null);
  }, [queryClient]);
  return <>{children}</>;
}

export function ProtectedRoute({ children }: { children: ReactNode }) {
  const token = useToken();
  const location = useLocation();
  const user = useUser();
  if (!token) {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  if (user.isPending) return <LoadingBlock label="Loading your account…" />;
  return <>{children}</>;
}
