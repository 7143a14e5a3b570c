/** Delivery statuses in words with an icon: never colour alone. */
const LABELS: Record<string, { icon: string; text: string }> = {
  succeeded: { icon: '✔', text: 'Succeeded' },
  failed: { icon: '✖', text: 'Failed' },
  pending: { icon: '◷', text: 'Pending' },
  in_flight: { icon: '➜', text: 'Sending' },
  enabled: { icon: '●', text: 'Enabled' },
  disabled: { icon: '⏸', text: 'Disabled' },
};

export function Status({ status }: { status: string }) {
  const label = LABELS[status] ?? { icon: '•', text: status };
  return (
    <span className={`status status-${status}`} data-status={status}>
      <span aria-hidden="true">{label.icon} </span>
      {label.text}
    </span>
  );
}

export function formatTime(iso: string | null): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
