import { useCallback, useId, useRef, useState, type ReactNode } from 'react';

import { Button } from './button';
import { inputClass } from './field';
import { Modal } from './modal';

interface Ask {
  title: string;
  body?: ReactNode;
  confirm: string;
  cancel?: string;
  danger?: boolean;
  /** Ask for a value too (a link address): the promise then resolves to it, or null. */
  input?: { label: string; initial: string };
}

/**
 * The app's own confirmation (instead of the browser's `confirm`/`prompt`, which cannot be
 * styled, read badly with a screen reader and block the page): `ask()` opens it and resolves
 * with the answer; render `dialog` once.
 */
export function useConfirm(): {
  dialog: ReactNode;
  ask: (question: Ask) => Promise<string | null>;
} {
  const [question, setQuestion] = useState<Ask | null>(null);
  const [value, setValue] = useState('');
  const resolver = useRef<((answer: string | null) => void) | null>(null);
  const inputId = useId();

  const ask = useCallback((next: Ask) => {
    setQuestion(next);
    setValue(next.input?.initial ?? '');
    return new Promise<string | null>((resolve) => {
      resolver.current = resolve;
    });
  }, []);

  const answer = (result: string | null) => {
    resolver.current?.(result);
    resolver.current = null;
    setQuestion(null);
  };

  const dialog = (
    <Modal
      open={question !== null}
      title={question?.title ?? ''}
      onClose={() => answer(null)}
      footer={
        <>
          <Button variant="secondary" onClick={() => answer(null)}>
            {question?.cancel ?? 'Keep it'}
          </Button>
          <Button
            variant={question?.danger ? 'danger' : 'primary'}
            onClick={() => answer(question?.input ? value : 'yes')}
          >
            {question?.confirm}
          </Button>
        </>
      }
    >
      <div className="space-y-3 text-sm text-slate-700">
        {question?.body}
        {question?.input && (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              answer(value);
            }}
          >
            <label htmlFor={inputId} className="mb-1 block font-medium text-slate-900">
              {question.input.label}
            </label>
            <input
              id={inputId}
              className={inputClass}
              value={value}
              onChange={(e) => setValue(e.target.value)}
              inputMode="url"
            />
          </form>
        )}
      </div>
    </Modal>
  );
  return { dialog, ask };
}
