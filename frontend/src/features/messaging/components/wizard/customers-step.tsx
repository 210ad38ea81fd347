import { Alert } from '@/components/ui/alert';
import { plural } from '@/lib/format';

import { CustomerSelector } from '../customer-selector';
import type { StepProps } from './step-props';
import { StepHeading } from './stepper';

/** Step 4: the customers who get the campaign (saved at Next, as the server resolves it). */
export function CustomersStep({
  state,
  update,
  savedRecipients,
}: Omit<StepProps, 'errors'> & { savedRecipients: number }) {
  return (
    <>
      <StepHeading step={4}>
        Only customers who agreed to marketing messages are listed.
      </StepHeading>
      {savedRecipients > 0 && !state.selectionTouched && (
        <Alert tone="info" className="mb-4">
          {plural(savedRecipients, 'customer is', 'customers are')} already selected for this
          campaign. Change the selection below to replace them, or continue.
        </Alert>
      )}
      <CustomerSelector
        placeIds={state.placeIds}
        value={state.selection}
        onChange={(selection) => update({ selection, selectionTouched: true })}
      />
    </>
  );
}
