/**
 * The contract every long operation in src/ follows: an options object with `onProgress` and `signal`.
 * The kernel turns events into a live display (update_display_data); the command line into a terminal bar.
 */
export interface ProgressEvent {
  /** What is running, e.g. 'train', 'sweep', 'calibrate'. */
  task: string;
  /** Units done and total (epochs, batches, trials…); total may be unknown. */
  done: number;
  total?: number;
  /** A short human line for a terminal bar. */
  message?: string;
  /** Structured figures for live charts/tables (loss, accuracy, best-so-far…). */
  metrics?: Record<string, number>;
}

export interface LongRunOptions {
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}
