import type { ButtonHTMLAttributes } from 'react';

import { Spinner } from './spinner';

type Variant = 'primary' | 'secondary' | 'danger' | 'ghost';
type Size = 'sm' | 'md';

const variants: Record<Variant, string> = {
  primary: 'bg-teal-700 text-white hover:bg-teal-800 disabled:bg-teal-700/60',
  secondary:
    'border border-slate-300 bg-white text-slate-800 hover:bg-slate-50 disabled:text-slate-500',
  danger: 'bg-red-700 text-white hover:bg-red-800 disabled:bg-red-700/60',
  ghost: 'text-slate-700 hover:bg-slate-100 disabled:text-slate-400',
};
const sizes: Record<Size, string> = {
  sm: 'px-2.5 py-1.5 text-sm',
  md: 'px-4 py-2 text-sm',
};

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: Variant;
  size?: Size;
  loading?: boolean;
}

export function Button({
  variant = 'primary',
  size = 'md',
  loading = false,
  className = '',
  disabled,
  children,
  type = 'button',
  onClick,
  ...rest
}: ButtonProps) {
  // A loading button ignores presses but stays enabled: disabling it would drop the
  // keyboard focus to <body> while the work runs.
  return (
    <button
      type={type}
      disabled={disabled}
      aria-busy={loading || undefined}
      aria-disabled={loading || undefined}
      className={`inline-flex items-center justify-center gap-2 rounded-md font-medium transition-colors motion-reduce:transition-none disabled:cursor-not-allowed aria-disabled:cursor-wait ${variants[variant]} ${sizes[size]} ${className}`}
      onClick={(event) => {
        if (loading) {
          event.preventDefault(); // also stops a submit button's form
          return;
        }
        onClick?.(event);
      }}
      {...rest}
    >
      {loading && <Spinner className="h-4 w-4" label="" />}
      {children}
    </button>
  );
}
