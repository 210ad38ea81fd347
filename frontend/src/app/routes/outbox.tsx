import { OutboxList } from '@/features/outbox/components/outbox-list';
import { usePageTitle } from '@/lib/use-page-title';

export function OutboxRoute() {
  usePageTitle('Outbox');
  return (
    <div className="space-y-4">
      <div>
        <h1 className="text-2xl font-bold text-slate-900">Outbox</h1>
        <p className="text-sm text-slate-700">
          Emails and WhatsApp messages captured by the outbox backend instead of leaving this
          machine.
        </p>
      </div>
      <OutboxList />
    </div>
  );
}
