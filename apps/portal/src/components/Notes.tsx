import { errorMessage } from '../trpc';

/** An error, said in words (and an icon), announced to screen readers. */
export function ErrorNote({ error }: { error: unknown }) {
  return (
    <p className="note note-error" role="alert">
      <span aria-hidden="true">✖ </span>
      {errorMessage(error)}
    </p>
  );
}

export function SuccessNote({ children }: { children: React.ReactNode }) {
  return (
    <p className="note note-ok" role="status">
      <span aria-hidden="true">✔ </span>
      {children}
    </p>
  );
}
