import { InputField, TextareaField } from '@/components/ui/field';

import type { StepProps } from './step-props';
import { StepHeading } from './stepper';

/** Step 1: the campaign's name and the owner's own description. */
export function BasicInfoStep({ state, update, errors }: StepProps) {
  return (
    <>
      <StepHeading step={1}>Name the campaign so you can find it later.</StepHeading>
      <div className="max-w-xl space-y-4">
        <InputField
          label="Campaign name"
          value={state.name}
          onChange={(e) => update({ name: e.target.value })}
          error={errors.name}
          placeholder="Spring comeback offer"
          maxLength={200}
        />
        <TextareaField
          label="Description (optional)"
          rows={3}
          value={state.description}
          onChange={(e) => update({ description: e.target.value })}
          error={errors.description}
          hint="Only you see it."
        />
      </div>
    </>
  );
}
