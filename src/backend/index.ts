/**
 * Backend selection: the fastest TensorFlow.js backend that works on this machine.
 *
 *   initBackend('auto') → 'tensorflow' (tfjs-node, native) if `require('@tensorflow/tfjs-node')` loads,
 *                         else 'wasm' (XNNPACK, SIMD) with tinylab's gradient kernels registered,
 *                         else 'cpu' (plain JS, slow but always there).
 *
 * Everyone must use the same `@tensorflow/tfjs` instance: import `tf` from here (or call `getTf()`), not a second copy.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError, TinylabError } from '../common/errors';
import { registerWasmTrainingKernels, WASM_KERNEL_OVERRIDES } from './wasm-kernels';
import { DENSE_CHAIN_STEP, denseChainStepWasm } from './dense-chain';

export { tf };
export { registerWasmTrainingKernels, WASM_KERNEL_OVERRIDES } from './wasm-kernels';

export type BackendPreference = 'auto' | 'tfjs-node' | 'wasm' | 'cpu';
export type BackendName = 'tfjs-node' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** What runs now. */
  name: BackendName;
  /** tfjs' own name for it: 'tensorflow' | 'wasm' | 'cpu'. */
  tfName: string;
  /** Why this one (what was tried and failed, or that it was asked for). */
  reason: string;
  /** wasm only: SIMD and threads as detected. */
  simd?: boolean;
  threads?: number;
  /** Names of kernels/gradients tinylab registered on top of the stock backend. */
  extraKernels: string[];
  /** Every backend name that initialised successfully in this process. */
  available: BackendName[];
}

const TF_NAME: Record<BackendName, string> = { 'tfjs-node': 'tensorflow', wasm: 'wasm', cpu: 'cpu' };
let current: BackendInfo | undefined;
let currentPreference: BackendPreference | undefined;
let tfjsNodeError: string | undefined;
let tfjsNodeLoaded = false;
let wasmImported = false;

/** The shared tfjs namespace. */
export function getTf(): typeof tf {
  return tf;
}

/** The active backend, or undefined before initBackend ran. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

function tryLoadTfjsNode(): boolean {
  if (tfjsNodeLoaded) return true;
  if (tfjsNodeError !== undefined) return false;
  try {
    // Optional dependency: present on machines that could download its native binary. Loading it registers
    // the 'tensorflow' backend on the same tfjs-core instance.
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    require('@tensorflow/tfjs-node');
    tfjsNodeLoaded = true;
    return true;
  } catch (e) {
    tfjsNodeError = (e as Error).message.split('\n')[0];
    return false;
  }
}

/**
 * The training loop's fused dense-chain step (dense-chain.ts; src/train/dense-chain.ts decides when it applies).
 * Registered here rather than with the other training kernels so it stays one self-contained addition.
 */
function registerDenseChainKernel(): void {
  if (tf.getKernel(DENSE_CHAIN_STEP, 'wasm')) return;
  tf.registerKernel({
    kernelName: DENSE_CHAIN_STEP,
    backendName: 'wasm',
    kernelFunc: ((args: { inputs: tf.NamedTensorMap; attrs?: tf.NamedAttrMap; backend: unknown }) =>
      denseChainStepWasm(args.inputs, args.attrs ?? {}, args.backend)) as unknown as tf.KernelFunc,
  });
}

function importWasm(): void {
  if (wasmImported) return;
  // Side effect: registers the 'wasm' backend factory and its kernels with tfjs-core.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  require('@tensorflow/tfjs-backend-wasm');
  wasmImported = true;
}

async function activate(name: BackendName): Promise<boolean> {
  if (name === 'tfjs-node' && !tryLoadTfjsNode()) return false;
  if (name === 'wasm') {
    importWasm();
    registerWasmTrainingKernels();
    registerDenseChainKernel();
  }
  try {
    return await tf.setBackend(TF_NAME[name]);
  } catch {
    return false;
  }
}

/**
 * Select and initialise a backend. 'auto' tries tfjs-node, then wasm, then cpu. Asking for a specific one that
 * cannot start throws an InputError that says what failed. Idempotent and cheap to call again.
 */
export async function initBackend(preference: BackendPreference = 'auto'): Promise<BackendInfo> {
  const order: BackendName[] =
    preference === 'auto' ? ['tfjs-node', 'wasm', 'cpu'] : [preference as BackendName];
  if (!['auto', 'tfjs-node', 'wasm', 'cpu'].includes(preference)) {
    throw new InputError(`unknown backend '${preference}': use auto, tfjs-node, wasm or cpu`);
  }
  const skipped: string[] = [];
  for (const name of order) {
    if (current?.name === name && currentPreference === preference && tf.getBackend() === TF_NAME[name]) return current;
    if (await activate(name)) {
      await tf.ready();
      const reason =
        preference === 'auto'
          ? skipped.length
            ? `auto: ${skipped.join('; ')}; using ${name}`
            : `auto: ${name} is the fastest available`
          : `requested ${name}`;
      const info: BackendInfo = {
        name,
        tfName: TF_NAME[name],
        reason,
        extraKernels: name === 'wasm' ? [...WASM_KERNEL_OVERRIDES, `${DENSE_CHAIN_STEP} (fused Dense/BatchNorm/ReLU training step)`] : [],
        available: availableBackends(),
      };
      if (name === 'wasm') {
        info.simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
        info.threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) ? 2 : 1;
      }
      current = info;
      currentPreference = preference;
      return info;
    }
    if (name === 'tfjs-node') skipped.push(`tfjs-node not loadable (${tfjsNodeError ?? 'setBackend failed'})`);
    else skipped.push(`${name} failed to initialise`);
  }
  if (preference === 'tfjs-node') {
    throw new InputError(
      `tfjs-node cannot be loaded here (${tfjsNodeError}); install it with 'npm install @tensorflow/tfjs-node' ` +
        `on a machine with internet access, or use '%backend wasm'`,
    );
  }
  throw new TinylabError(`backend ${preference} failed to initialise: ${skipped.join('; ')}`);
}

function availableBackends(): BackendName[] {
  const out: BackendName[] = [];
  if (tfjsNodeLoaded) out.push('tfjs-node');
  if (wasmImported || tf.findBackend('wasm')) out.push('wasm');
  out.push('cpu');
  return out;
}

/** Run `fn` with another backend active, restoring the previous one afterwards (tests, benchmarks). */
export async function withBackend<T>(name: BackendName, fn: () => Promise<T> | T): Promise<T> {
  const prev = current?.name;
  await initBackend(name);
  try {
    return await fn();
  } finally {
    if (prev) await initBackend(prev);
  }
}
