/**
 * User data loaders. Errors name the file, row and column so the fix is obvious.
 *  - CSV: header row, label column by name (categorical labels mapped to 0..k-1 in sorted order), other columns numeric.
 *  - NPY: float32/float64/int8/uint8/int16/int32, C order; optional expected shape check.
 *  - Folder: one sub-folder per class holding images (PNG 8-bit grey/RGB/RGBA non-interlaced, PGM/PPM) or
 *    16-bit PCM WAV files.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { InputError } from '../common/errors';
import { Dataset } from './types';

// ---------------------------------------------------------------- CSV

export interface CsvOptions {
  /** Name of the label column (default 'label'); null for unlabelled data. */
  labelColumn?: string | null;
  /** Columns to use as features (default: all others). */
  featureColumns?: string[];
  /** Sample shape (default [numFeatures]). */
  sampleShape?: number[];
  delimiter?: string;
  name?: string;
}

function splitCsvLine(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === delim) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim());
}

export function parseCsv(text: string, opts: CsvOptions & { file?: string } = {}): Dataset {
  const file = opts.file ?? '<csv>';
  const delim = opts.delimiter ?? ',';
  const lines = text.split(/\r?\n/).filter((l) => l.trim().length > 0);
  if (lines.length < 2) throw new InputError(`${file}: needs a header row and at least one data row`);
  const header = splitCsvLine(lines[0], delim);
  const labelName = opts.labelColumn === undefined ? 'label' : opts.labelColumn;
  const labelIdx = labelName === null ? -1 : header.indexOf(labelName);
  if (labelName !== null && labelIdx < 0) {
    throw new InputError(`${file}: no column '${labelName}' in header (${header.join(', ')}); pass labelColumn`);
  }
  const featIdx = (opts.featureColumns ?? header.filter((_, i) => i !== labelIdx)).map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new InputError(`${file}: no column '${c}' in header (${header.join(', ')})`);
    return i;
  });
  const n = lines.length - 1;
  const f = featIdx.length;
  const x = new Float32Array(n * f);
  const rawLabels: string[] = [];
  for (let r = 0; r < n; r++) {
    const cells = splitCsvLine(lines[r + 1], delim);
    if (cells.length !== header.length) {
      throw new InputError(`${file}: row ${r + 2} has ${cells.length} cells, the header has ${header.length}`);
    }
    for (let j = 0; j < f; j++) {
      const cell = cells[featIdx[j]];
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v)) {
        throw new InputError(
          `${file}: row ${r + 2}, column '${header[featIdx[j]]}': '${cell}' is not a number (fix the cell or drop the column with featureColumns)`,
        );
      }
      x[r * f + j] = v;
    }
    if (labelIdx >= 0) rawLabels.push(cells[labelIdx]);
  }
  let classNames: string[] = [];
  let y = new Int32Array(0);
  if (labelIdx >= 0) {
    const uniq = [...new Set(rawLabels)];
    const allInts = uniq.every((u) => /^-?\d+$/.test(u));
    classNames = allInts ? uniq.sort((a, b) => Number(a) - Number(b)) : uniq.sort();
    const map = new Map(classNames.map((c, i) => [c, i]));
    y = Int32Array.from(rawLabels, (l) => map.get(l) as number);
  }
  const sampleShape = opts.sampleShape ?? [f];
  if (sampleShape.reduce((a, b) => a * b, 1) !== f) {
    throw new InputError(`${file}: sampleShape [${sampleShape}] does not hold ${f} features per row`);
  }
  return { x, y, sampleShape, numClasses: classNames.length, classNames, name: opts.name ?? path.basename(file) };
}

export function loadCsv(file: string, opts: CsvOptions = {}): Dataset {
  if (!fs.existsSync(file)) throw new InputError(`${file}: no such file`);
  return parseCsv(fs.readFileSync(file, 'utf8'), { ...opts, file });
}

// ---------------------------------------------------------------- NPY

export interface NpyArray {
  data: Float32Array | Int8Array | Uint8Array | Int16Array | Int32Array;
  shape: number[];
  dtype: 'float32' | 'int8' | 'uint8' | 'int16' | 'int32';
}

export function parseNpy(buf: Buffer, file = '<npy>', expectShape?: number[]): NpyArray {
  if (buf.length < 10 || buf.readUInt32BE(0) !== 0x934e554d || buf[4] !== 0x50 || buf[5] !== 0x59) {
    throw new InputError(`${file}: not a .npy file (magic bytes missing)`);
  }
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined) throw new InputError(`${file}: malformed .npy header: ${header}`);
  if (fortran === 'True') throw new InputError(`${file}: Fortran-order arrays are not supported; save with np.ascontiguousarray`);
  const shape = shapeStr.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const body = buf.subarray(off);
  const copy = (bytes: number) => {
    if (body.length < count * bytes) throw new InputError(`${file}: truncated: header says ${count} values, file has fewer`);
    return new Uint8Array(body.subarray(0, count * bytes)).buffer;
  };
  let arr: NpyArray;
  switch (descr) {
    case '<f4':
      arr = { data: new Float32Array(copy(4)), shape, dtype: 'float32' };
      break;
    case '<f8':
      arr = { data: Float32Array.from(new Float64Array(copy(8))), shape, dtype: 'float32' };
      break;
    case '|i1':
      arr = { data: new Int8Array(copy(1)), shape, dtype: 'int8' };
      break;
    case '|u1':
      arr = { data: new Uint8Array(copy(1)), shape, dtype: 'uint8' };
      break;
    case '<i2':
      arr = { data: new Int16Array(copy(2)), shape, dtype: 'int16' };
      break;
    case '<i4':
      arr = { data: new Int32Array(copy(4)), shape, dtype: 'int32' };
      break;
    case '<i8': {
      const big = new BigInt64Array(copy(8));
      arr = { data: Int32Array.from(big, (v) => Number(v)), shape, dtype: 'int32' };
      break;
    }
    default:
      throw new InputError(`${file}: dtype '${descr}' unsupported; use float32, int8 or uint8 (little-endian)`);
  }
  if (expectShape) {
    const ok = expectShape.length === shape.length && expectShape.every((d, i) => d < 0 || d === shape[i]);
    if (!ok) throw new InputError(`${file}: shape (${shape}) does not match the expected (${expectShape}) (-1 = any)`);
  }
  return arr;
}

export function loadNpy(file: string, expectShape?: number[]): NpyArray {
  if (!fs.existsSync(file)) throw new InputError(`${file}: no such file`);
  return parseNpy(fs.readFileSync(file), file, expectShape);
}

/** x.npy [n, ...sampleShape] (+ optional y.npy [n] integer labels) as a Dataset; uint8 features are scaled to [0,1]. */
export function loadNpyDataset(xFile: string, yFile?: string, opts: { classNames?: string[]; name?: string } = {}): Dataset {
  const xa = loadNpy(xFile);
  if (xa.shape.length < 2) throw new InputError(`${xFile}: expected shape (n, ...features), got (${xa.shape})`);
  const x = xa.dtype === 'uint8' ? Float32Array.from(xa.data, (v) => v / 255) : Float32Array.from(xa.data);
  let y = new Int32Array(0);
  let numClasses = 0;
  if (yFile) {
    const ya = loadNpy(yFile);
    if (ya.dtype === 'float32') throw new InputError(`${yFile}: labels must be integers (int8/uint8/int32/int64)`);
    if (ya.shape[0] !== xa.shape[0] || ya.shape.length !== 1) {
      throw new InputError(`${yFile}: shape (${ya.shape}) should be (${xa.shape[0]},) to match ${xFile}`);
    }
    y = Int32Array.from(ya.data);
    numClasses = y.reduce((m, v) => Math.max(m, v + 1), 0);
  }
  return {
    x,
    y,
    sampleShape: xa.shape.slice(1),
    numClasses,
    classNames: opts.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
    name: opts.name ?? path.basename(xFile, '.npy'),
  };
}

// ---------------------------------------------------------------- images

export interface Image {
  width: number;
  height: number;
  channels: number;
  /** Row-major, values in [0, 1]. */
  data: Float32Array;
}

/** PNG decoder: 8-bit greyscale, grey+alpha, RGB, RGBA; non-interlaced (what image tools write by default). */
export function decodePng(buf: Buffer, file = '<png>'): Image {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!sig.every((b, i) => buf[i] === b)) throw new InputError(`${file}: not a PNG file`);
  let pos = 8;
  let width = 0, height = 0, bitDepth = 0, colorType = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const chunk = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = chunk.readUInt32BE(0);
      height = chunk.readUInt32BE(4);
      bitDepth = chunk[8];
      colorType = chunk[9];
      interlace = chunk[12];
    } else if (type === 'IDAT') idat.push(chunk);
    else if (type === 'IEND') break;
    pos += 12 + len;
  }
  const chans: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };
  if (bitDepth !== 8 || !(colorType in chans) || interlace !== 0) {
    throw new InputError(`${file}: PNG must be 8-bit grey/RGB/RGBA, non-interlaced (got depth ${bitDepth}, color type ${colorType})`);
  }
  const bpp = chans[colorType];
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = new Uint8Array(height * stride);
  for (let r = 0; r < height; r++) {
    const ft = raw[r * (stride + 1)];
    const src = r * (stride + 1) + 1;
    const dst = r * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? px[dst + i - bpp] : 0;
      const b = r > 0 ? px[dst - stride + i] : 0;
      const c = i >= bpp && r > 0 ? px[dst - stride + i - bpp] : 0;
      let v = raw[src + i];
      if (ft === 1) v += a;
      else if (ft === 2) v += b;
      else if (ft === 3) v += (a + b) >> 1;
      else if (ft === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[dst + i] = v & 255;
    }
  }
  // Drop alpha: keep grey or RGB.
  const outC = bpp === 2 || bpp === 1 ? 1 : 3;
  const data = new Float32Array(width * height * outC);
  for (let p = 0; p < width * height; p++) for (let ch = 0; ch < outC; ch++) data[p * outC + ch] = px[p * bpp + ch] / 255;
  return { width, height, channels: outC, data };
}

/** Binary PGM (P5) / PPM (P6), 8-bit. */
export function decodePnm(buf: Buffer, file = '<pnm>'): Image {
  const magic = buf.toString('latin1', 0, 2);
  if (magic !== 'P5' && magic !== 'P6') throw new InputError(`${file}: only binary PGM (P5) / PPM (P6) are supported`);
  const tokens: number[] = [];
  let pos = 2;
  while (tokens.length < 3) {
    while (/\s/.test(String.fromCharCode(buf[pos]))) pos++;
    if (buf[pos] === 0x23) {
      while (buf[pos] !== 0x0a) pos++;
      continue;
    }
    let s = '';
    while (!/\s/.test(String.fromCharCode(buf[pos]))) s += String.fromCharCode(buf[pos++]);
    tokens.push(Number(s));
  }
  pos++;
  const [width, height, maxv] = tokens;
  const channels = magic === 'P5' ? 1 : 3;
  if (maxv > 255) throw new InputError(`${file}: 16-bit PNM is not supported`);
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = buf[pos + i] / maxv;
  return { width, height, channels, data };
}

// ---------------------------------------------------------------- WAV

export interface Wav {
  sampleRate: number;
  channels: number;
  /** Mono (channels averaged), in [-1, 1). */
  samples: Float32Array;
}

export function decodeWav(buf: Buffer, file = '<wav>'): Wav {
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new InputError(`${file}: not a RIFF/WAVE file`);
  }
  let pos = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | undefined;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('latin1', pos, pos + 4);
    const len = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (!fmt) throw new InputError(`${file}: 'data' chunk before 'fmt '`);
      if (fmt.format !== 1 || fmt.bits !== 16) {
        throw new InputError(`${file}: must be 16-bit PCM (got format ${fmt.format}, ${fmt.bits} bits); convert with 'sox in.wav -b 16 out.wav'`);
      }
      const frames = Math.floor(Math.min(len, buf.length - body) / (2 * fmt.channels));
      const samples = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let s = 0;
        for (let c = 0; c < fmt.channels; c++) s += buf.readInt16LE(body + 2 * (i * fmt.channels + c));
        samples[i] = s / fmt.channels / 32768;
      }
      return { sampleRate: fmt.rate, channels: fmt.channels, samples };
    }
    pos = body + len + (len & 1);
  }
  throw new InputError(`${file}: no 'data' chunk`);
}

// ---------------------------------------------------------------- folders

export interface FolderOptions {
  /** WAV: samples per clip (shorter clips are zero-padded, longer cut); default the first file's length. */
  length?: number;
  name?: string;
}

const IMAGE_EXT = new Set(['.png', '.pgm', '.ppm']);

/**
 * A folder with one sub-folder per class (sorted names → labels 0..k-1), each holding images (.png/.pgm/.ppm, all the
 * same size) or .wav clips (16-bit PCM). Images → [h, w, c]; audio → [length, 1].
 */
export function loadFolder(dir: string, opts: FolderOptions = {}): Dataset {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new InputError(`${dir}: not a folder`);
  const classNames = fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory()).sort();
  if (classNames.length === 0) throw new InputError(`${dir}: expected one sub-folder per class, found none`);
  const files: Array<{ file: string; label: number }> = [];
  classNames.forEach((c, label) => {
    for (const f of fs.readdirSync(path.join(dir, c)).sort()) {
      const ext = path.extname(f).toLowerCase();
      if (IMAGE_EXT.has(ext) || ext === '.wav') files.push({ file: path.join(dir, c, f), label });
    }
  });
  if (files.length === 0) throw new InputError(`${dir}: no .png/.pgm/.ppm/.wav files in the class folders`);
  const isWav = path.extname(files[0].file).toLowerCase() === '.wav';
  const rows: Float32Array[] = [];
  let sampleShape: number[] = [];
  for (const { file } of files) {
    const ext = path.extname(file).toLowerCase();
    if ((ext === '.wav') !== isWav) throw new InputError(`${file}: mixes audio and images; keep one kind per data set`);
    const buf = fs.readFileSync(file);
    if (isWav) {
      const w = decodeWav(buf, file);
      const len = opts.length ?? (sampleShape[0] || w.samples.length);
      sampleShape = [len, 1];
      const row = new Float32Array(len);
      row.set(w.samples.subarray(0, len));
      rows.push(row);
    } else {
      const img = ext === '.png' ? decodePng(buf, file) : decodePnm(buf, file);
      const shape = [img.height, img.width, img.channels];
      if (sampleShape.length && shape.join() !== sampleShape.join()) {
        throw new InputError(`${file}: image is ${shape.join('x')}, the first image was ${sampleShape.join('x')}; resize all to one size`);
      }
      sampleShape = shape;
      rows.push(img.data);
    }
  }
  const f = sampleShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(rows.length * f);
  rows.forEach((r, i) => x.set(r, i * f));
  return {
    x,
    y: Int32Array.from(files, (e) => e.label),
    sampleShape,
    numClasses: classNames.length,
    classNames,
    name: opts.name ?? path.basename(dir),
  };
}
