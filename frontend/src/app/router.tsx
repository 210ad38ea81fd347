import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';

import { AppShell } from '@/components/layouts/app-shell';
import { LoadingBlock } from '@/components/ui/spinner';
import { ProtectedRoute } from '@/lib/auth';

import { RouteError } from './routes/route-error';

// Every page is its own chunk; the first load only carries the shell and the page it shows.
export const routes: RouteObject[] = [
  {
    path: '/login',
    lazy: async () => ({ Component: (await import('./routes/login')).LoginRoute }),
    errorElement: <RouteError />,
    // Shown while the first page's chunk loads (React Router asks for one with lazy routes).
    hydrateFallbackElement: <LoadingBlock label="Loading…" />,
  },
  {
    path: '/',
    element: (
      <ProtectedRoute>
        <AppShell />
      </ProtectedRoute>
    ),
    errorElement: <RouteError />,
    hydrateFallbackElement: <LoadingBlock label="Loading…" />,
    children: [
      { index: true, element: <Navigate to="/campaigns" replace /> },
      {
        path: 'campaigns',
        lazy: async () => ({
          Component: (await import('./routes/campaigns-management')).CampaignsManagement,
        }),
      },
      {
        path: 'campaigns/new/messaging',
        lazy: async () => ({
          Component: (await import('./routes/campaign-wizard')).NewWizardRoute,
        }),
      },
      {
        path: 'campaigns/:campaignId/edit',
        lazy: async () => ({
          Component: (await import('./routes/campaign-wizard')).EditWizardRoute,
        }),
      },
      {
        path: 'campaigns/:campaignId',
        lazy: async () => ({
          Component: (await import('./routes/campaign-detail')).CampaignDetailRoute,
        }),
      },
      {
        path: 'outbox',
        lazy: async () => ({ Component: (await import('./routes/outbox')).OutboxRoute }),
      },
      {
        path: 'settings',
        lazy: async () => ({ Component: (await import('./routes/settings')).SettingsRoute }),
      },
      {
        path: '*',
        lazy: async () => ({ Component: (await import('./routes/not-found')).NotFoundRoute }),
      },
    ],
  },
];

export const createAppRouter = () => createBrowserRouter(routes);
