import { useState, type FormEvent } from 'react';
import * as z from 'zod/mini';

import { ApiError, errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { InputField } from '@/components/ui/field';
import { useLogin } from '@/lib/auth';

const loginSchema = z.object({
  email: z.email({ error: 'Enter the email address you registered with.' }),
  password: z.string().check(z.minLength(1, { error: 'Enter your password.' })),
});

type Errors = Partial<Record<'email' | 'password', string>>;

export function LoginForm({ onSuccess }: { onSuccess: () => void }) {
  const loginMutation = useLogin();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors>({});

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = loginSchema.safeParse({ email: email.trim(), password });
    if (!parsed.success) {
      const next: Errors = {};
      for (const issue of parsed.error.issues)
        next[issue.path[0] as keyof Errors] ??= issue.message;
      setErrors(next);
      return;
    }
    setErrors({});
    loginMutation.mutate(parsed.data, { onSuccess });
  };

  const failure = loginMutation.error;
  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      {failure && (
        <Alert tone="error">
          {failure instanceof ApiError && failure.status === 401
            ? 'That email and password do not match an owner account.'
            : errorMessage(failure)}
        </Alert>
      )}
      <InputField
        label="Email"
        type="email"
        name="email"
        autoComplete="username"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        error={errors.email}
        required
      />
      <InputField
        label="Password"
        type="password"
        name="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={errors.password}
        required
      />
      <Button type="submit" className="w-full" loading={loginMutation.isPending}>
        Log in
      </Button>
    </form>
  );
}
