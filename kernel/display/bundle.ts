/**
 * MIME bundles: what a cell shows. `data` maps MIME types to content (text/plain always present), `metadata` per type.
 * Objects anywhere (src/ included) may implement `toMimeBundle()` and the kernel displays them richly; that method is
 * plain data, so src/ stays free of Jupyter types.
 */
export interface MimeBundle {
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface RichDisplayable {
  toMimeBundle(): MimeBundle | Promise<MimeBundle>;
}

export function isRichDisplayable(value: unknown): value is RichDisplayable {
  return typeof value === 'object' && value !== null && typeof (value as RichDisplayable).toMimeBundle === 'function';
}

/** Marker so display() can tell a ready bundle from an arbitrary object with a `data` field. */
export const BUNDLE_MARK = Symbol.for('tinylab.mimeBundle');

export function bundle(data: Record<string, unknown>, metadata?: Record<string, unknown>): MimeBundle {
  const b: MimeBundle = { data, metadata: metadata ?? {} };
  Object.defineProperty(b, BUNDLE_MARK, { value: true, enumerable: false });
  return b;
}

export function isMimeBundle(value: unknown): value is MimeBundle {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BUNDLE_MARK] === true;
}
