import * as z from 'zod/mini';

const schema = z.object({
  API_URL: z._default(z.string(), '/api/v1'),
});

/** Build-time settings (VITE_* variables), checked once at start-up. */
export const env = schema.parse({
  API_URL: (import.meta.env.VITE_API_URL as string | undefined) || undefined,
});
