import type { Device, DeviceKindInfo } from './devices.js';
import { isSecretSetting } from './devices.js';
import { SecretBox } from './secret-box.js';
import type { DeviceStore } from './store.js';

/**
 * A device store that keeps secret settings (passwords) sealed at rest: they are sealed on every write and
 * opened on every read, so the database file, its WAL and its backups never hold them in clear text, while
 * drivers and the registry see plain values. Backend-agnostic: it wraps whatever DeviceStore is configured.
 */
export class SealedDeviceStore implements DeviceStore {
  constructor(
    private readonly inner: DeviceStore,
    private readonly box: SecretBox,
    private readonly kinds: ReadonlyMap<string, DeviceKindInfo>,
  ) {}

  private map(d: Device, f: (v: string) => string): Device {
    const info = this.kinds.get(d.kind);
    let settings: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(d.settings ?? {})) {
      if (typeof v !== 'string' || v === '' || !isSecretSetting(k, info)) continue;
      const next = f(v);
      if (next === v) continue;
      settings ??= { ...d.settings };
      settings[k] = next;
    }
    return settings ? { ...d, settings } : d;
  }

  private seal(d: Device): Device {
    return this.map(d, (v) => (SecretBox.isSealed(v) ? v : this.box.seal(v)));
  }

  private open(d: Device): Device {
    return this.map(d, (v) => this.box.open(v));
  }

  async list(q?: { kind?: string; group?: string; label?: string; site?: string }): Promise<Device[]> {
    return (await this.inner.list(q)).map((d) => this.open(d));
  }
  async get(id: string): Promise<Device | undefined> {
    const d = await this.inner.get(id);
    return d ? this.open(d) : undefined;
  }
  async insert(d: Device): Promise<void> {
    await this.inner.insert(this.seal(d));
  }
  async update(d: Device): Promise<void> {
    await this.inner.update(this.seal(d));
  }
  async remove(id: string): Promise<boolean> {
    return this.inner.remove(id);
  }

  /** Devices whose sealed secrets do not open with this key (another key file, or altered values). */
  async unreadable(): Promise<string[]> {
    const out: string[] = [];
    for (const d of await this.inner.list()) {
      try {
        this.open(d);
      } catch {
        out.push(d.id);
      }
    }
    return out;
  }

  /** Seals secrets still stored in clear text (a database from before sealing); answers how many devices. */
  async sealExisting(): Promise<number> {
    let n = 0;
    for (const d of await this.inner.list()) {
      const sealed = this.seal(d);
      if (sealed === d) continue;
      await this.inner.update(sealed);
      n++;
    }
    return n;
  }

  /** Whether any stored device holds a sealed secret (then the key file must exist: never make a new one). */
  static async holdsSealed(store: DeviceStore): Promise<boolean> {
    return (await store.list()).some((d) =>
      Object.values(d.settings ?? {}).some((v) => SecretBox.isSealed(v)),
    );
  }
}
