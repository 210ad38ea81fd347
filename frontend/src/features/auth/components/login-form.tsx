import { zodResolver } from '@hookform/resolvers/zod';
import { useForm } from 'react-hook-form';
import * as z from 'zod/mini';

import { ApiError, errorMessage } from '@/api/client';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { InputField } from '@/components/ui/field';
import { useLogin } from '@/lib/auth';

const loginSchema = z.object({
  email: z.pipe(
    z.string().check(z.trim()),
    z.email({ error: 'Enter the email address you registered with.' }),
  ),
  password: z.string().check(z.minLength(1, { error: 'Enter your password.' })),
});

type LoginValues = z.input<typeof loginSchema>;

export function LoginForm({ onSuccess }: { onSuccess: () => void }) {
  const loginMutation = useLogin();
  const {
    register,
    handleSubmit,
    formState: { errors },
  } = useForm<LoginValues, unknown, z.output<typeof loginSchema>>({
    resolver: zodResolver(loginSchema),
    defaultValues: { email: '', password: '' },
  });
  const submit = handleSubmit((credentials) => loginMutation.mutate(credentials, { onSuccess }));

  const failure = loginMutation.error;
  return (
    <form onSubmit={(event) => void submit(event)} noValidate className="space-y-4">
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
        autoComplete="username"
        {...register('email')}
        error={errors.email?.message}
        required
      />
      <InputField
        label="Password"
        type="password"
        autoComplete="current-password"
        {...register('password')}
        error={errors.password?.message}
        required
      />
      <Button type="submit" className="w-full" loading={loginMutation.isPending}>
        Log in
      </Button>
    </form>
  );
}
