import { createReadStream, type FSWatcher, watch as fsWatch, type ReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import { ValidationError } from '../core/errors.js';
import {
  type CompiledRule,
  checkProvisioningConfig,
  compileRules,
  generateSettingsFile,
  generateSpecialsFile,
  type HubFacts,
  MAX_USER_AGENT,
  matchRule,
} from './autogen.js';
import type { ProvisioningConfig } from './config.js';
import { type DecodedSettings, decodeSettingsBytes, type SettingsEncoding } from './encoding.js';
import { type EvalInputs, type EvalResult, evaluateSettings } from './evaluate.js';

/**
 * The settings server's I/O around the pure generator: static files in the settings directory shadow
 * generated ones; generated files vary by User-Agent rule; a bounded per-client request log.
 */

export const GENERATED_FILES = ['46xxsettings.txt', '46xxspecials.txt'] as const;
export type GeneratedName = (typeof GENERATED_FILES)[number];

/** File names served from the settings directory: one path segment, no leading dot. */
export const FILE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** Largest static file read into memory (for eval/GET resolution); larger files are only streamed. */
export const MAX_TEXT_FILE = 1024 * 1024;

const TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  scr: 'text/plain; charset=utf-8',
  xml: 'text/xml; charset=utf-8',
  cfg: 'text/plain; charset=utf-8',
  pem: 'application/x-pem-file',
  crt: 'application/x-x509-ca-cert',
  cer: 'application/x-x509-ca-cert',
  wav: 'audio/wav',
  png: 'image/png',
  jpg: 'image/jpeg',
};

export function contentType(name: string): string {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return TYPES[ext] ?? 'application/octet-stream';
}

export interface ClientRecord {
  address: string;
  userAgent: string;
  /** Model guessed from the User-Agent (`J179`, `9611`, `Workplace`) or ''. */
  model: string;
  rule: string;
  firstSeen: string;
  lastSeen: string;
  requests: number;
  lastFile: string;
  lastStatus: number;
}

export interface ServedFile {
  name: string;
  source: 'static' | 'generated';
  size: number;
  lastModified: Date;
  /** The bytes to send (generated files, and static text files read to learn their encoding). */
  body?: Buffer;
  /** For other static files: stream them. */
  open?: () => ReadStream;
  /** Content-Type, with the charset the text is really in (`windows-1252` for a stock Avaya template). */
  contentType: string;
  /** For settings text: how its bytes decode; undefined for binary files. */
  encoding?: SettingsEncoding;
}

/** Static text files whose encoding is remembered (most recently used). */
const ENCODING_CACHE = 256;

/** Extensions whose files are settings text (decoded, charset declared). */
const TEXT_EXTENSIONS = new Set(['txt', 'scr', 'cfg']);

function isSettingsText(name: string): boolean {
  return TEXT_EXTENSIONS.has(name.slice(name.lastIndexOf('.') + 1).toLowerCase());
}

/** The Content-Type of settings text in this encoding (its bytes are sent unchanged). */
function textType(encoding: SettingsEncoding): string {
  return `text/plain; charset=${encoding}`;
}

/** Guesses the model from an Avaya User-Agent (for the request log only). */
export function modelFromUserAgent(ua: string): string {
  const m = /\b(J1[0-9]9|96[0-9]{2}|K1[0-9]5|1[0-9]{3})\b/.exec(ua);
  if (m?.[1]) return m[1];
  if (/Communicator|Workplace|Equinox/i.test(ua)) return 'Workplace';
  return '';
}

/** Minimum time between two `settings.requested` events for the same client, file and status. */
export const EVENT_INTERVAL_MS = 10_000;

export class SettingsService {
  readonly dir: string;
  private readonly rules: CompiledRule[];
  private readonly avaya: RegExp;
  private readonly started: Date;
  private readonly clients = new Map<string, ClientRecord>();
  private readonly lastEvent = new Map<string, number>();
  private readonly encodings = new Map<string, { version: string; encoding: SettingsEncoding | 'none' }>();
  /**
   * Generated files per client profile (the User-Agent rule that matched, or none) and file name, for the
   * public URL they were made with. The config does not change while the service lives (a new config is
   * a new service), so only the public URL (known once the server listens) can make one stale.
   */
  private readonly generatedCache = new Map<
    CompiledRule | undefined,
    Map<string, { url: string; body: Buffer }>
  >();
  /**
   * Names known to have no static file in the settings directory, while a watch on the directory says
   * nothing changed there (no `stat` per request for the override that is not there). Files that exist are
   * still stat'ed on every request (their size and date go in the answer).
   */
  private readonly absent = new Set<string>();
  private watcher: FSWatcher | undefined;
  /** Changes seen in the directory (a `stat` that raced with one does not mark its name absent). */
  private dirChanges = 0;

  constructor(
    readonly cfg: ProvisioningConfig,
    dataDir: string,
    private readonly hub: HubFacts,
    private readonly clock: Clock,
  ) {
    this.dir = cfg.settingsDir || join(dataDir, 'settings');
    // Everything but the public URL can be checked now (it is only known once the server listens).
    checkProvisioningConfig(cfg, { publicUrl: hub.publicUrl || 'http://127.0.0.1', version: hub.version });
    const c = compileRules(cfg);
    this.rules = c.rules;
    this.avaya = c.avaya;
    // Second resolution: HTTP dates have no milliseconds, If-Modified-Since compares seconds.
    this.started = new Date(Math.floor(clock.now() / 1000) * 1000);
  }

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * Watches the settings directory so that a file added, replaced or removed there is served from the next
   * request on (see `absent`). Without a watch (unsupported file system) every request checks the directory.
   */
  watch(onError?: (e: unknown) => void): void {
    if (this.watcher) return;
    try {
      this.watcher = fsWatch(this.dir, { persistent: false }, (_event, file) => {
        this.dirChanges++;
        if (file) this.absent.delete(String(file));
        else this.absent.clear();
      });
      this.watcher.on('error', (e) => {
        this.unwatch();
        onError?.(e);
      });
    } catch (e) {
      this.watcher = undefined;
      onError?.(e);
    }
  }

  unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.absent.clear();
  }

  isAvayaClient(userAgent: string): boolean {
    return this.avaya.test(userAgent.slice(0, MAX_USER_AGENT));
  }

  ruleFor(userAgent: string): CompiledRule | undefined {
    return matchRule(this.rules, userAgent);
  }

  /** The auto-generated file as this client would get it. */
  generate(name: GeneratedName, userAgent: string): string {
    return this.generateFor(name, this.ruleFor(userAgent)).toString('utf8');
  }

  private generateFor(name: GeneratedName, compiled: CompiledRule | undefined): Buffer {
    const url = this.hub.publicUrl || 'http://127.0.0.1';
    let perRule = this.generatedCache.get(compiled);
    const hit = perRule?.get(name);
    if (hit && hit.url === url) return hit.body;
    const ctx = { hub: { publicUrl: url, version: this.hub.version }, rule: compiled?.rule };
    const body = Buffer.from(
      name === '46xxsettings.txt' ? generateSettingsFile(this.cfg, ctx) : generateSpecialsFile(this.cfg, ctx),
      'utf8',
    );
    if (!perRule) {
      perRule = new Map();
      this.generatedCache.set(compiled, perRule);
    }
    perRule.set(name, { url, body });
    return body;
  }

  /** What the server answers for `name`: the static file if present, else the generated one, else undefined. */
  async serve(name: string, userAgent: string): Promise<ServedFile | undefined> {
    if (!FILE_NAME_RE.test(name)) return undefined;
    const path = join(this.dir, name);
    const seen = this.dirChanges;
    const st = this.absent.has(name) ? undefined : await stat(path).catch(() => undefined);
    if (!st?.isFile() && this.watcher && seen === this.dirChanges) this.absent.add(name);
    if (st?.isFile()) {
      const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000);
      const encoding = isSettingsText(name) ? await this.encodingOf(path, name, st) : undefined;
      return {
        name,
        source: 'static',
        size: st.size,
        lastModified,
        open: () => createReadStream(path),
        contentType:
          encoding === undefined
            ? contentType(name)
            : encoding === 'none'
              ? 'text/plain'
              : textType(encoding),
        ...(encoding === undefined || encoding === 'none' ? {} : { encoding }),
      };
    }
    if ((GENERATED_FILES as readonly string[]).includes(name)) {
      const body = this.generateFor(name as GeneratedName, this.ruleFor(userAgent));
      return {
        name,
        source: 'generated',
        size: body.length,
        lastModified: this.started,
        body,
        contentType: textType('utf-8'),
        encoding: 'utf-8',
      };
    }
    return undefined;
  }

  /**
   * How a static settings text file decodes ('none': NUL bytes, not text; undefined: too large to tell).
   * Sniffed once per file version (path, size, mtime) so that a fleet of phones booting at once streams
   * the file instead of each request reading it into memory.
   */
  private async encodingOf(
    path: string,
    name: string,
    st: { size: number; mtimeMs: number },
  ): Promise<SettingsEncoding | 'none' | undefined> {
    if (st.size > MAX_TEXT_FILE) return undefined;
    const version = `${st.size} ${st.mtimeMs}`;
    const known = this.encodings.get(path);
    if (known?.version === version) return known.encoding;
    let encoding: SettingsEncoding | 'none';
    try {
      encoding = decodeSettingsBytes(await readPrefix(path, MAX_TEXT_FILE), name).encoding;
    } catch {
      encoding = 'none';
    }
    this.encodings.delete(path);
    this.encodings.set(path, { version, encoding });
    if (this.encodings.size > ENCODING_CACHE) {
      const oldest = this.encodings.keys().next().value;
      if (oldest !== undefined) this.encodings.delete(oldest);
    }
    return encoding;
  }

  /**
   * The text of a file as a client would obtain it (for GET resolution and lint), decoded as the CLI
   * decodes it (UTF-8, else Windows-1252). Undefined when there is no such file or it is too large;
   * throws `SETTINGS_NOT_TEXT` for a binary file.
   */
  async decoded(name: string, userAgent: string): Promise<DecodedSettings | undefined> {
    const f = await this.serve(name, userAgent);
    if (!f) return undefined;
    if (f.size > MAX_TEXT_FILE) return undefined;
    const bytes = f.body ?? (await readPrefix(join(this.dir, name), MAX_TEXT_FILE));
    return decodeSettingsBytes(bytes, name);
  }

  async text(name: string, userAgent: string): Promise<string | undefined> {
    return (await this.decoded(name, userAgent))?.text;
  }

  /** Evaluates what a client with these inputs and User-Agent ends up with. */
  async evaluate(
    inputs: EvalInputs,
    userAgent = '',
    file = '46xxsettings.txt',
  ): Promise<EvalResult & { source: string }> {
    const first = await this.serve(file, userAgent);
    if (!first)
      throw new ValidationError(
        'SETTINGS_FILE_NOT_FOUND',
        `no file ${file} in the settings directory and none is generated`,
        { field: 'file', status: 404 },
      );
    const text = (await this.decoded(file, userAgent))?.text;
    if (text === undefined) {
      throw new ValidationError(
        'SETTINGS_FILE_TOO_LARGE',
        `${file} is larger than ${MAX_TEXT_FILE} bytes; not evaluated`,
        {
          field: 'file',
          status: 413,
        },
      );
    }
    const r = await evaluateSettings({ name: file, text }, inputs, (n) => this.text(n, userAgent));
    return { ...r, source: first.source };
  }

  /** Records a request in the per-client log. */
  record(address: string, userAgent: string, file: string, status: number): ClientRecord {
    const ua = userAgent.slice(0, 256);
    const key = `${address} ${ua}`;
    const now = new Date(this.clock.now()).toISOString();
    const prev = this.clients.get(key);
    const rec: ClientRecord = prev ?? {
      address,
      userAgent: ua,
      model: modelFromUserAgent(ua),
      rule: '',
      firstSeen: now,
      lastSeen: now,
      requests: 0,
      lastFile: file,
      lastStatus: status,
    };
    rec.rule = this.ruleLabel(ua);
    rec.lastSeen = now;
    rec.requests++;
    rec.lastFile = file;
    rec.lastStatus = status;
    this.clients.delete(key);
    if (this.cfg.requestLogSize > 0) {
      this.clients.set(key, rec);
      while (this.clients.size > this.cfg.requestLogSize) {
        const oldest = this.clients.keys().next().value;
        if (oldest === undefined) break;
        this.clients.delete(oldest);
      }
    }
    return rec;
  }

  ruleLabel(userAgent: string): string {
    const r = this.ruleFor(userAgent);
    return r ? r.rule.label || r.rule.match : '';
  }

  /**
   * Whether this request should become a `settings.requested` event: at most one per client, file and
   * status every `EVENT_INTERVAL_MS`, so that a client (or anyone) hammering the server cannot flood the
   * event store. The per-client log still counts every request.
   */
  shouldEmit(address: string, userAgent: string, file: string, status: number): boolean {
    const key = `${address} ${userAgent.slice(0, 256)} ${file} ${status}`;
    const now = this.clock.now();
    const last = this.lastEvent.get(key);
    if (last !== undefined && now - last < EVENT_INTERVAL_MS) return false;
    this.lastEvent.delete(key);
    this.lastEvent.set(key, now);
    const cap = Math.max(100, this.cfg.requestLogSize * 4);
    while (this.lastEvent.size > cap) {
      const oldest = this.lastEvent.keys().next().value;
      if (oldest === undefined) break;
      this.lastEvent.delete(oldest);
    }
    return true;
  }

  /** Most recent first. */
  listClients(): ClientRecord[] {
    return [...this.clients.values()].reverse();
  }
}

/** Reads at most `max` bytes from the start of a file. */
async function readPrefix(path: string, max: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    const buf = Buffer.alloc(Math.min(st.size, max));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
