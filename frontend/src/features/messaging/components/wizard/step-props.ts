import type { WizardErrors, WizardState } from '../../lib/wizard';

/** What every step is given: the state, a way to change it, and the errors to show. */
export interface StepProps {
  state: WizardState;
  update: (patch: Partial<WizardState>) => void;
  errors: WizardErrors;
}
