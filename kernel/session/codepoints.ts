/**
 * Jupyter cursor positions count Unicode code points (protocol ≥ 5.2); JavaScript strings index UTF-16 units.
 * Conversions both ways so an emoji before the cursor does not shift completions.
 */
export function codePointToUtf16(text: string, cp: number): number {
  let i = 0;
  for (let n = 0; n < cp && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return i;
}

export function utf16ToCodePoint(text: string, idx: number): number {
  let n = 0;
  for (let i = 0; i < idx && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
  }
  return n;
}
