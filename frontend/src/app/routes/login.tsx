import { useState } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { LoginForm } from '@/features/auth/components/login-form';
import { consumeSessionExpired, useToken } from '@/lib/auth';
import { usePageTitle } from '@/lib/use-page-title';

function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/campaigns';
}

export function LoginRoute() {
  usePageTitle('Log in');
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const token = useToken();
  const [expired] = useState(consumeSessionExpired);
  const next = safeNext(params.get('next'));
  if (token) return <Navigate to={next} replace />;
  return (
    <main className="flex min-h-screen items-center justify-center bg-gradient-to-br from-teal-50 to-slate-100 px-4">
      <div className="w-full max-w-sm rounded-2xl bg-white p-8 shadow-lg">
        <h1 className="text-2xl font-bold text-teal-900">Rebook</h1>
        <p className="mb-6 text-sm text-slate-700">Log in to bring your customers back.</p>
        {expired && (
          <Alert tone="warning" className="mb-4">
            Your session expired. Log in again to continue where you were; your drafts are saved.
          </Alert>
        )}
        <LoginForm onSuccess={() => void navigate(next, { replace: true })} />
      </div>
    </main>
  );
}
