import type { LocationEntry, LocationStore } from './types.js';

/**
 * The location table (extension → building, floor, room, callback), read once from its store and kept in
 * memory: the 911 path looks an extension up without waiting for a query. Writes go to the store first, then
 * here; `load` reads the table again (at start, and when another hub changed it).
 */
export class LocationTable {
  private byExtension = new Map<string, LocationEntry>();

  constructor(private readonly store: LocationStore) {}

  async load(): Promise<void> {
    this.byExtension = new Map((await this.store.list()).map((l) => [l.extension, l] as const));
  }

  /** The entry of an extension, from memory. */
  lookup(extension: string): LocationEntry | undefined {
    return this.byExtension.get(extension);
  }

  async list(): Promise<LocationEntry[]> {
    return this.store.list();
  }

  async upsertMany(rows: LocationEntry[]): Promise<void> {
    await this.store.upsertMany(rows);
    for (const r of rows) this.byExtension.set(r.extension, r);
  }

  async remove(extension: string): Promise<boolean> {
    const removed = await this.store.remove(extension);
    this.byExtension.delete(extension);
    return removed;
  }
}
