import { Alert } from '@/components/ui/alert';

import { useDeliverability } from '../api/get-deliverability';

/** Said before sending: emails held, or too often marked as spam. Nothing when all is well. */
export function DeliverabilityNotice() {
  const { data } = useDeliverability();
  if (!data?.message) return null;
  return (
    <Alert
      tone={data.held ? 'error' : 'warning'}
      title={data.held ? 'Your emails are on hold' : 'Customers mark your emails as spam'}
      className="lg:col-span-2"
    >
      {data.message}
    </Alert>
  );
}
