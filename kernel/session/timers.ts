/**
 * The kernel's own timers. Cells' timers are tracked (so an interrupt can cancel the timer an `await sleep()` loop
 * waits on, which is what actually stops such a loop); kernel internals must not be cancelled with them, so they use
 * the functions captured here, before the executor patches the globals.
 */
export const kernelTimers = {
  setTimeout: globalThis.setTimeout.bind(globalThis),
  clearTimeout: globalThis.clearTimeout.bind(globalThis),
  setImmediate: globalThis.setImmediate.bind(globalThis),
  setInterval: globalThis.setInterval.bind(globalThis),
  clearInterval: globalThis.clearInterval.bind(globalThis),
};

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Records every timer created while `tracking` is on, so `cancelAll()` can stop them. Installed once per process;
 * the wrappers keep Node's promisify hooks so `timers/promises`-style use keeps working.
 */
export class TimerTracker {
  private readonly live = new Set<{ kind: 'timeout' | 'interval' | 'immediate'; handle: unknown }>();
  tracking = false;

  install(): void {
    const g = globalThis as unknown as Record<string, AnyFn>;
    const wrap = (name: 'setTimeout' | 'setInterval' | 'setImmediate', kind: 'timeout' | 'interval' | 'immediate'): void => {
      const orig = g[name];
      const tracker = this;
      const wrapped = function (this: unknown, cb: unknown, ...rest: unknown[]): unknown {
        if (!tracker.tracking || typeof cb !== 'function') return orig.call(globalThis, cb, ...rest);
        const entry = { kind, handle: undefined as unknown };
        const fn = kind === 'interval' ? (cb as AnyFn) : (...a: unknown[]) => {
          tracker.live.delete(entry);
          return (cb as AnyFn)(...a);
        };
        entry.handle = orig.call(globalThis, fn, ...rest);
        tracker.live.add(entry);
        return entry.handle;
      };
      for (const key of Reflect.ownKeys(orig)) {
        if (key !== 'length' && key !== 'name' && key !== 'prototype') {
          Object.defineProperty(wrapped, key, Object.getOwnPropertyDescriptor(orig, key) as PropertyDescriptor);
        }
      }
      g[name] = wrapped;
    };
    wrap('setTimeout', 'timeout');
    wrap('setInterval', 'interval');
    wrap('setImmediate', 'immediate');
  }

  /** Cancel every tracked timer (interrupt). */
  cancelAll(): void {
    for (const e of this.live) {
      if (e.kind === 'immediate') clearImmediate(e.handle as NodeJS.Immediate);
      else kernelTimers.clearTimeout(e.handle as NodeJS.Timeout);
    }
    this.live.clear();
  }

  /** Forget tracked timers without cancelling them (a cell finished; its background timers may go on). */
  forget(): void {
    this.live.clear();
  }

  get size(): number {
    return this.live.size;
  }
}
