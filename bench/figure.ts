/**
 * One benchmark result. `bench/run.ts` prints each as one JSON line; extra keys carry the
 * details (samples, breakdowns, targets) that explain the headline value.
 */
export type Figure = { figure: string; value: number; unit: string; [k: string]: unknown };
