import { isRouteErrorResponse, Link, useRouteError } from 'react-router';

export function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error)
    ? `${error.status} ${error.statusText}`
    : error instanceof Error
      ? error.message
      : 'Something went wrong.';
  return (
    <main className="mx-auto max-w-lg p-8 text-center">
      <h1 className="text-xl font-semibold">This page could not be shown</h1>
      <p className="mt-2 text-slate-700">{message}</p>
      <p className="mt-4 flex justify-center gap-4">
        <button
          type="button"
          className="text-teal-800 underline"
          onClick={() => window.location.reload()}
        >
          Reload
        </button>
        <Link className="text-teal-800 underline" to="/campaigns">
          Back to campaigns
        </Link>
      </p>
    </main>
  );
}
