import { NavLink, Outlet, useNavigate } from 'react-router';

import { EnvelopeIcon, InboxIcon, MegaphoneIcon } from '@/components/ui/icons';
import { useLogout, useUser } from '@/lib/auth';

const navClass = ({ isActive }: { isActive: boolean }) =>
  `flex items-center gap-2 rounded-md px-3 py-2 text-sm font-medium ${
    isActive ? 'bg-teal-800 text-white' : 'text-teal-50 hover:bg-teal-800/60'
  }`;

/** The logged-in frame: navigation, the owner's name, logout. */
export function AppShell() {
  const user = useUser();
  const logout = useLogout();
  const navigate = useNavigate();
  const name = user.data ? `${user.data.first_name} ${user.data.last_name}` : '';
  return (
    <div className="flex min-h-screen flex-col">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="bg-teal-900 text-white">
        <div className="mx-auto flex max-w-7xl flex-wrap items-center justify-between gap-3 px-4 py-3">
          <div className="flex flex-wrap items-center gap-4">
            <NavLink to="/campaigns" className="text-lg font-bold tracking-tight">
              Rebook
            </NavLink>
            <nav aria-label="Main">
              <ul className="flex gap-1">
                <li>
                  <NavLink to="/campaigns" className={navClass}>
                    <MegaphoneIcon className="h-4 w-4" /> Campaigns
                  </NavLink>
                </li>
                <li>
                  <NavLink to="/outbox" className={navClass}>
                    <InboxIcon className="h-4 w-4" /> Outbox
                  </NavLink>
                </li>
                <li>
                  <NavLink to="/settings" className={navClass}>
                    <EnvelopeIcon className="h-4 w-4" /> Settings
                  </NavLink>
                </li>
              </ul>
            </nav>
          </div>
          <div className="flex items-center gap-3 text-sm">
            <span data-testid="owner-name" className="text-teal-50">
              {name}
            </span>
            <button
              type="button"
              onClick={() => {
                logout();
                void navigate('/login', { replace: true });
              }}
              className="rounded-md border border-teal-600 px-3 py-1.5 font-medium hover:bg-teal-800"
            >
              Log out
            </button>
          </div>
        </div>
      </header>
      <main id="main" className="mx-auto w-full max-w-7xl flex-1 px-4 py-6">
        <Outlet />
      </main>
    </div>
  );
}
