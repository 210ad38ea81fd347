import type { ReactNode } from 'react';

import { STEPS, type StepId } from '../../lib/wizard';

/** The six steps as buttons; the current one is marked for screen readers. */
export function Stepper({
  step,
  canJump,
  onJump,
}: {
  step: StepId;
  canJump: (id: StepId) => boolean;
  onJump: (id: StepId) => void;
}) {
  return (
    <nav aria-label="Wizard steps">
      <ol className="grid grid-cols-3 gap-2 sm:grid-cols-6">
        {STEPS.map((s) => {
          const current = s.id === step;
          const done = s.id < step;
          return (
            <li key={s.id}>
              <button
                type="button"
                disabled={!canJump(s.id) || current}
                aria-current={current ? 'step' : undefined}
                onClick={() => onJump(s.id)}
                className={`flex w-full flex-col items-start rounded-md border px-2 py-1.5 text-left text-xs transition-colors disabled:cursor-default ${
                  current
                    ? 'border-teal-700 bg-teal-700 text-white'
                    : done
                      ? 'border-teal-300 bg-teal-50 text-teal-900 hover:bg-teal-100'
                      : 'border-slate-200 bg-white text-slate-700 hover:bg-slate-50'
                }`}
              >
                <span className="font-semibold">Step {s.id}</span>
                <span>{s.title}</span>
              </button>
            </li>
          );
        })}
      </ol>
    </nav>
  );
}

/** The step's title, focused when the step changes (see the wizard body). */
export function StepHeading({ step, children }: { step: StepId; children?: ReactNode }) {
  const title = STEPS.find((s) => s.id === step)!.title;
  return (
    <div className="mb-4">
      <h2 className="text-lg font-semibold text-slate-900" tabIndex={-1} data-step-heading>
        Step {step} of 6: {title}
      </h2>
      {children && <p className="text-sm text-slate-600">{children}</p>}
    </div>
  );
}
