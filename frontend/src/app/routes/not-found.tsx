import { Link } from 'react-router';

import { usePageTitle } from '@/lib/use-page-title';

export function NotFoundRoute() {
  usePageTitle('Not found');
  return (
    <div className="py-16 text-center">
      <h1 className="text-xl font-semibold">Nothing here</h1>
      <p className="mt-2 text-slate-700">This page does not exist.</p>
      <Link to="/campaigns" className="mt-4 inline-block text-teal-800 underline">
        Go to your campaigns
      </Link>
    </div>
  );
}
