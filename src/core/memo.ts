/**
 * A small bounded memo for pure parsers: the same input text (e.g. the identical CiscoIPPhoneResponse
 * that hundreds of phones answer during a broadcast) is validated and parsed once. Only successful
 * results are kept (errors are thrown again on every call), keys longer than `maxKeyChars` are never
 * stored, and at most `maxEntries` results are kept (least recently used evicted). Callers get a fresh
 * copy from `clone`, so nothing a caller does to a result can change what the next caller sees.
 */
export class ParseMemo<T> {
  private readonly map = new Map<string, T>();

  constructor(
    private readonly clone: (v: T) => T,
    private readonly opts: { maxEntries?: number; maxKeyChars?: number } = {},
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Returns parse(key), from the memo when the same key was parsed successfully before. */
  get(key: string, parse: () => T): T {
    const maxKey = this.opts.maxKeyChars ?? 8192;
    if (key.length > maxKey) return parse();
    const hit = this.map.get(key);
    if (hit !== undefined) {
      // Refresh recency (Map keeps insertion order).
      this.map.delete(key);
      this.map.set(key, hit);
      return this.clone(hit);
    }
    const v = parse();
    this.map.set(key, this.clone(v));
    const max = this.opts.maxEntries ?? 64;
    while (this.map.size > max) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
    return v;
  }

  clear(): void {
    this.map.clear();
  }
}
