/** A status as a badge: its word always (colour is never the only sign), its colour by kind. */
export const StatusBadge = ({ status }: { status: string }) => {
  const kind = status === 'DEPLOYED' ? 'ok' : status === 'FAILED' ? 'bad' : status.startsWith('PENDING') ? 'busy' : 'idle';
  return (
    <span class={`badge ${kind}`} data-status={status}>
      {status}
    </span>
  );
};
