/**
 * The in-memory dataset shape every part of tinylab passes around: flat typed arrays (not nested JS arrays), so
 * 10,000 MNIST digits are 31 MB of Float32Array rather than hundreds of MB of objects.
 */
export interface Dataset {
  /** Samples, row-major: sample i occupies x[i*featureSize, (i+1)*featureSize). */
  x: Float32Array;
  /** Integer class labels in [0, numClasses). For regression/autoencoders, an empty Int32Array. */
  y: Int32Array;
  /** Shape of one sample, e.g. [28, 28, 1] (NHWC without N) or [128, 3] for time series. */
  sampleShape: number[];
  numClasses: number;
  classNames: string[];
  /** Human name, e.g. 'mnist-14x14'. */
  name: string;
}

export interface DataSplits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
}

/** Number of samples in a dataset. */
export function datasetSize(d: Dataset): number {
  const f = d.sampleShape.reduce((a, b) => a * b, 1);
  return f === 0 ? 0 : d.x.length / f;
}
