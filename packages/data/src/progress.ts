/**
 * A progress line on stderr. On a TTY it redraws one line in place (at most ~10 times a
 * second); otherwise it prints a plain line at most every `plainEveryMs` so logs stay short.
 * Silent when `quiet` is set or VSAE_QUIET=1. Never writes to stdout.
 */
export interface ProgressOptions {
  /** What is being counted, e.g. "step" or "rows". */
  unit: string;
  /** Known total, or undefined for open-ended work. */
  total?: number | undefined;
  /** Work already done before this process started (a resumed run): counted in the total, not in the rate. */
  done?: number | undefined;
  label?: string;
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  plainEveryMs?: number;
}

export class Progress {
  private readonly start = performance.now();
  private last = 0;
  private lastLen = 0;
  private done = 0;
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private readonly stream: NodeJS.WriteStream;
  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.quiet = Boolean(opts.quiet) || process.env.VSAE_QUIET === '1';
    this.done = opts.done ?? 0;
  }

  /** Sets the count done so far and, rate-limited, redraws with the extra fields given. */
  update(done: number, fields: Record<string, string | number> = {}, force = false): void {
    this.done = done;
    if (this.quiet) return;
    const now = performance.now();
    const every = this.tty ? 100 : (this.opts.plainEveryMs ?? 10_000);
    if (!force && now - this.last < every) return;
    this.last = now;
    this.draw(fields);
  }

  /** Rate of work per second since the start. */
  rate(): number {
    const s = (performance.now() - this.start) / 1000;
    return s > 0 ? (this.done - (this.opts.done ?? 0)) / s : 0;
  }

  elapsedSeconds(): number {
    return (performance.now() - this.start) / 1000;
  }

  finish(fields: Record<string, string | number> = {}): void {
    if (this.quiet) return;
    this.draw(fields);
    if (this.tty) this.stream.write('\n');
  }

  private draw(fields: Record<string, string | number>): void {
    const { total, unit, label } = this.opts;
    const rate = this.rate();
    const parts: string[] = [];
    if (label) parts.push(label);
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.done / total);
      const width = 20;
      const filled = Math.round(frac * width);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${unit} ${this.done}/${total}`);
    } else {
      parts.push(`${unit} ${this.done}`);
    }
    for (const [k, v] of Object.entries(fields)) parts.push(`${k} ${typeof v === 'number' ? formatNumber(v) : v}`);
    parts.push(`${formatNumber(rate)} ${unit}/s`);
    if (total !== undefined && rate > 0 && this.done < total) parts.push(`ETA ${formatDuration((total - this.done) / rate)}`);
    else parts.push(`elapsed ${formatDuration(this.elapsedSeconds())}`);
    const line = parts.join('  ');
    if (this.tty) {
      const pad = Math.max(0, this.lastLen - line.length);
      this.stream.write(`\r${line}${' '.repeat(pad)}`);
      this.lastLen = line.length;
    } else {
      this.stream.write(`${line}\n`);
    }
  }
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(3) : v.toFixed(4);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
