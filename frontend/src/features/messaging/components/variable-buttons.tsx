import { TEMPLATE_VARIABLES } from '@/types/campaign';

/** Buttons that insert `{{ first_name }}` and friends where the owner is typing. */
export function VariableButtons({
  onInsert,
  target,
}: {
  onInsert: (variable: string) => void;
  target: string;
}) {
  return (
    <div
      role="group"
      aria-label={`Insert a personalisation variable into the ${target}`}
      className="flex flex-wrap items-center gap-1.5"
    >
      <span className="text-xs text-slate-600">Insert:</span>
      {TEMPLATE_VARIABLES.map((v) => (
        <button
          key={v.name}
          type="button"
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => onInsert(`{{ ${v.name} }}`)}
          className="rounded-full border border-teal-300 bg-teal-50 px-2 py-0.5 text-xs font-medium text-teal-900 hover:bg-teal-100"
          aria-label={`Insert ${v.label} into the ${target}`}
        >
          {v.label}
        </button>
      ))}
    </div>
  );
}

/** Inserts `text` at the caret of a text input or textarea; returns the new value. */
export function insertAtCaret(
  element: HTMLInputElement | HTMLTextAreaElement | null,
  current: string,
  text: string,
): { value: string; caret: number } {
  const start = element?.selectionStart ?? current.length;
  const end = element?.selectionEnd ?? current.length;
  const value = current.slice(0, start) + text + current.slice(end);
  return { value, caret: start + text.length };
}
