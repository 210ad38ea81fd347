// The bearer token lives in localStorage so a reload keeps the owner logged in; listeners let
// the auth provider react when the API client drops an expired token.
const KEY = 'rebook.token';
type Listener = (token: string | null) => void;
const listeners = new Set<Listener>();

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return storage()?.getItem(KEY) ?? null;
}

export function setToken(token: string | null): void {
  const store = storage();
  if (token) store?.setItem(KEY, token);
  else store?.removeItem(KEY);
  listeners.forEach((listener) => listener(token));
}

export function onTokenChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
