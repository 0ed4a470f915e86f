/**
 * A store as the contract suites see it: each method may answer its value or a Promise of it, so one suite
 * (which awaits every call) runs against today's synchronous SQLite stores and the asynchronous PostgreSQL
 * ones (`AsyncPort<X>`) alike.
 */
export type MaybeAsync<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Awaited<R> | Promise<Awaited<R>>
    : T[K];
};
