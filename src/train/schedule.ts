/** Learning-rate schedules as functions of fractional epoch (0 … epochs). */
import { InputError } from '../common/errors';

export type ScheduleSpec =
  | 'constant'
  | 'cosine'
  | 'step'
  | 'exponential'
  | { type: 'step'; every: number; gamma?: number }
  | { type: 'exponential'; gamma: number }
  | { type: 'cosine'; minLr?: number; warmupEpochs?: number }
  | ((epoch: number, baseLr: number) => number);

export function makeSchedule(spec: ScheduleSpec, baseLr: number, epochs: number): (epoch: number) => number {
  if (typeof spec === 'function') return (e) => spec(e, baseLr);
  const s = typeof spec === 'string' ? { type: spec } : spec;
  switch (s.type) {
    case 'constant':
      return () => baseLr;
    case 'cosine': {
      const c = s as { minLr?: number; warmupEpochs?: number };
      const minLr = c.minLr ?? 0;
      const warm = c.warmupEpochs ?? 0;
      return (e) => {
        if (e < warm) return (baseLr * (e + 1e-3)) / warm;
        const t = Math.min(1, (e - warm) / Math.max(1e-9, epochs - warm));
        return minLr + 0.5 * (baseLr - minLr) * (1 + Math.cos(Math.PI * t));
      };
    }
    case 'step': {
      const st = s as { every?: number; gamma?: number };
      const every = st.every ?? Math.max(1, Math.round(epochs / 3));
      const gamma = st.gamma ?? 0.1;
      return (e) => baseLr * gamma ** Math.floor(e / every);
    }
    case 'exponential': {
      const gamma = (s as { gamma?: number }).gamma ?? 0.9;
      return (e) => baseLr * gamma ** Math.floor(e);
    }
    default:
      throw new InputError(`unknown schedule '${(s as { type: string }).type}': use constant, cosine, step or exponential`);
  }
}
