interface Hour {
  hour: string;
  attempts: number;
  succeeded: number;
  avgDurationMs: number | null;
}

const W = 480;
const H = 120;
const PAD = 4;

/**
 * 24 bars, one per hour: the bar's height is the number of attempts, its
 * dark part the successes (the rest is hatched: failures are told apart by
 * pattern, not colour alone); the line is the average latency.
 */
export function StatsChart({ hours }: { hours: Hour[] }) {
  const maxAttempts = Math.max(1, ...hours.map((h) => h.attempts));
  const maxMs = Math.max(1, ...hours.map((h) => h.avgDurationMs ?? 0));
  const slot = (W - PAD * 2) / hours.length;
  const y = (n: number) => H - PAD - (n / maxAttempts) * (H - PAD * 2);
  const latency = hours.flatMap((h, i) =>
    h.avgDurationMs === null
      ? []
      : [{ x: PAD + slot * i + slot / 2, y: H - PAD - (h.avgDurationMs / maxMs) * (H - PAD * 2) }],
  );
  const total = hours.reduce((n, h) => n + h.attempts, 0);
  const ok = hours.reduce((n, h) => n + h.succeeded, 0);
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`Last 24 hours: ${total} attempts, ${ok} succeeded, ${total - ok} failed`}
    >
      <defs>
        <pattern id="failed-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <rect width="4" height="4" className="hatch-bg" />
          <line x1="0" y1="0" x2="0" y2="4" className="hatch-line" />
        </pattern>
      </defs>
      <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} className="axis" />
      {hours.map((h, i) => {
        const x = PAD + slot * i + 1;
        const width = Math.max(1, slot - 2);
        return (
          <g key={h.hour}>
            <title>{`${new Date(h.hour).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}: ${h.attempts} attempts, ${h.succeeded} succeeded${h.avgDurationMs === null ? '' : `, ${h.avgDurationMs} ms average`}`}</title>
            {h.attempts > h.succeeded && (
              <rect
                x={x}
                width={width}
                y={y(h.attempts)}
                height={y(h.succeeded) - y(h.attempts)}
                fill="url(#failed-hatch)"
              />
            )}
            {h.succeeded > 0 && (
              <rect x={x} width={width} y={y(h.succeeded)} height={H - PAD - y(h.succeeded)} className="bar-ok" />
            )}
          </g>
        );
      })}
      {latency.length > 1 && <polyline points={latency.map((p) => `${p.x},${p.y}`).join(' ')} className="latency" />}
      {latency.map((p) => (
        <circle key={p.x} cx={p.x} cy={p.y} r={2.5} className="latency-dot" />
      ))}
    </svg>
  );
}
