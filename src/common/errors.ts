/**
 * Errors the library throws on purpose. Their message is written for a person and names the fix; the kernel shows
 * it as a one-line error without a stack trace, the command-line tools print it and exit with status 2.
 */
export class TinylabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TinylabError';
  }
}

/** Input that does not fit: wrong shapes, malformed files, unknown names. */
export class InputError extends TinylabError {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Work stopped because its AbortSignal fired (interrupt, timeout); partial results are kept where the API says so. */
export class AbortedError extends TinylabError {
  constructor(message = 'interrupted') {
    super(message);
    this.name = 'AbortedError';
  }
}

/** Throw AbortedError if the signal has fired: call at batch/trial boundaries. */
export function throwIfAborted(signal: AbortSignal | undefined, what = 'interrupted'): void {
  if (signal?.aborted) throw new AbortedError(what);
}
