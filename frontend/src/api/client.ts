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

type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  query?: Record<string, QueryValue>;
  json?: unknown;
  form?: Record<string, string>;
  signal?: AbortSignal;
}

export function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, String(v)));
    else params.append(key, String(value));
  }
  const qs = params.toString();
  const url = `${env.API_URL}${path}${qs ? `?${qs}` : ''}`;
  return new URL(url, window.location.origin).toString();
}

async function toApiError(response: Response): Promise<ApiError> {
  let code = `Http${response.status}`;
  let detail = response.statusText || `The server answered ${response.status}.`;
  let fieldErrors: FieldError[] = [];
  try {
    const body = (await response.json()) as {
      error?: string;
      detail?: unknown;
      errors?: FieldError[];
    };
    if (body.error) code = body.error;
    if (typeof body.detail === 'string') detail = body.detail;
    if (Array.isArray(body.errors)) fieldErrors = body.errors;
  } catch {
    // not JSON: keep the status text
  }
  if (response.status >= 500) detail = `The server had a problem (${response.status}). ${detail}`;
  return new ApiError(response.status, code, detail, fieldErrors);
}

/** Sends a request to the API; resolves with the response for callers that need headers/blob. */
export async function apiResponse(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.form) {
    body = new URLSearchParams(options.form);
  }
  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), {
      method: options.method ?? 'GET',
      headers,
      body,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'NetworkError', 'Rebook cannot be reached. Check your connection.');
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (response.status === 401 && token) unauthorizedHandler?.();
    throw error;
  }
  return response;
}

/** Sends a request and decodes its JSON answer (`undefined` for 204). */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await apiResponse(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return 'Something went wrong.';
}
