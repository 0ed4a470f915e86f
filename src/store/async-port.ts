/**
 * The asynchronous form of a store interface: every method answers a Promise of what it answered before.
 * Used while the store ports move from synchronous to asynchronous (issue 15): a backend written against
 * `AsyncPort<X>` satisfies `X` once `X` itself is asynchronous, without a change.
 */
export type AsyncPort<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : T[K];
};
