import { EmailSenderSettings } from '@/features/settings/components/email-sender-settings';
import { usePageTitle } from '@/lib/use-page-title';

export function SettingsRoute() {
  usePageTitle('Settings');
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-2xl font-bold text-slate-900">Email settings</h1>
        <p className="text-sm text-slate-700">
          Who your campaign emails come from, and where your customers’ replies go.
        </p>
      </div>
      <EmailSenderSettings />
    </div>
  );
}
