import createClient, { type Middleware } from 'openapi-fetch';
import * as z from 'zod/mini';

import type { paths } from '@/api/schema';
import { env } from '@/config/env';
import { getToken } from '@/lib/auth-token';

export interface FieldError {
  field: string;
  message: string;
}

/** An error answered by the API: `{"error": "NotFound", "detail": "…", "errors"?: [...]}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fieldErrors: FieldError[];

  constructor(status: number, code: string, detail: string, fieldErrors: FieldError[] = []) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.fieldErrors = fieldErrors;
  }

  /** The message for one field (`messaging_config.email_subject`), if the API named it. */
  forField(field: string): string | undefined {
    return this.fieldErrors.find((e) => e.field === field || e.field.startsWith(`${field}.`))
      ?.message;
  }
}

let unauthorizedHandler: (() => void) | null = null;

/** Called when the API answers 401 to a logged-in request (expired or revoked token). */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

/** The API's paths below its root (`/api/v1`), which is where `env.API_URL` points. */
type ApiPaths = {
  [P in keyof paths as P extends `/api/v1${infer Rest}` ? Rest : never]: paths[P];
};

/** `?a=1&ids=2&ids=3`: empty values are left out, arrays repeat their key. */
export function serializeQuery(query: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v: unknown) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  return params.toString();
}

// The shape of every error the API answers (a proxy's HTML page has none of it).
const errorBody = z.object({
  error: z.optional(z.string()),
  detail: z.optional(z.unknown()),
  errors: z.optional(z.array(z.object({ field: z.string(), message: z.string() }))),
});

async function toApiError(response: Response): Promise<ApiError> {
  let code = `Http${response.status}`;
  let detail = response.statusText || `The server answered ${response.status}.`;
  let fieldErrors: FieldError[] = [];
  try {
    const body = errorBody.safeParse(await response.clone().json());
    if (body.success) {
      if (body.data.error) code = body.data.error;
      if (typeof body.data.detail === 'string') detail = body.data.detail;
      if (body.data.errors) fieldErrors = body.data.errors;
    }
  } catch {
    // not JSON: keep the status text
  }
  if (response.status >= 500) detail = `The server had a problem (${response.status}). ${detail}`;
  return new ApiError(response.status, code, detail, fieldErrors);
}

// Every request carries the owner's token; every failure becomes an ApiError, so callers
// only ever see the answer the schema promises.
const session: Middleware = {
  onRequest({ request }) {
    request.headers.set('Accept', 'application/json');
    const token = getToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  async onResponse({ request, response }) {
    if (response.ok) return undefined;
    const error = await toApiError(response);
    if (response.status === 401 && request.headers.has('Authorization')) unauthorizedHandler?.();
    throw error;
  },
  onError({ error }) {
    if (error instanceof DOMException && error.name === 'AbortError') return error;
    return new ApiError(0, 'NetworkError', 'Rebook cannot be reached. Check your connection.');
  },
};

/** The API, typed by its OpenAPI schema: paths, parameters, bodies and answers are checked. */
export const client = createClient<ApiPaths>({
  baseUrl: new URL(env.API_URL, window.location.origin).toString(),
  // Looked up at each call, so a fetch installed later (a test's mock server) is the one used.
  fetch: (request) => globalThis.fetch(request),
  querySerializer: serializeQuery,
});
client.use(session);

/** The answer of a call that succeeded (failures were thrown as ApiError by the client). */
export async function data<T>(call: Promise<{ data?: T; error?: unknown }>): Promise<T> {
  const result = await call;
  if (result.data === undefined) throw new ApiError(0, 'EmptyAnswer', 'The server sent nothing.');
  return result.data;
}

/** Waits for a call whose answer carries no body (204). */
export async function done(call: Promise<{ error?: unknown }>): Promise<void> {
  await call;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
