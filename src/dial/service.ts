import type { ActionRunner } from '../core/actions.js';
import type { Device } from '../core/devices.js';
import type { ActionResult } from '../core/driver.js';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.js';
import type { ControlSpec } from '../core/spec.js';
import { type DialAlphabet, dialString } from './number.js';

/**
 * Click-to-dial and call control on desk phones (docs/click-to-dial.md). One entry point per verb, the
 * same for the API, the console, the CLI and "call back" from an incident; each verb picks what the
 * device's kind can do and runs it through the action runner (so the driver's model checks, timeouts and
 * the `device.action` event apply as for any action).
 *
 * - Cisco: `Dial:<number>` (spec action `dial`) and `Key:<name>` (the spec's `key_*` actions), seed 003.
 * - Avaya 96x1/J100: the Push API cannot originate a call or press a key (seed 000 lists display, top
 *   line, audio, subscribe and phonexml pushes only). What it can do is show a page with a WTAI "Call"
 *   softkey the user presses (`prompt: true`); anything else is `AVAYA_DIAL_UNSUPPORTED` /
 *   `AVAYA_KEYS_UNSUPPORTED`.
 * - IP Office: DevLink3 is a monitoring link (seed 004): `DIAL_UNSUPPORTED_KIND`.
 */

export interface DialDeps {
  devices: { get(id: string): Device | undefined };
  actions: Pick<ActionRunner, 'execute'>;
  spec: (kind: string) => ControlSpec | undefined;
  options: () => { plusPrefix: string; maxDigits: number };
}

export interface DialRequest {
  number: string;
  /** Avaya only: show a page with a "Call" softkey for the user to press (the Push API cannot dial). */
  prompt?: boolean;
  /** Shown on the Avaya prompt page (who asked, why). */
  note?: string;
}

export interface DialOutcome {
  deviceId: string;
  kind: string;
  /** The dial string sent to the phone. */
  number: string;
  /** `dialled`: the phone went off-hook and dialled; `prompted`: the user has to press Call. */
  mode: 'dialled' | 'prompted';
  result: ActionResult;
}

export interface KeyOutcome {
  deviceId: string;
  key: string;
  /** The spec action that pressed it (`key_hold`, `key_line` …). */
  actionId: string;
  result: ActionResult;
}

const KEY_NAME = /^([A-Za-z_]{1,40}?)([0-9]{1,3})?$/;
const ALPHABETS: Record<string, DialAlphabet> = { cisco: 'cisco', avaya: 'avaya' };

/** The key names a Cisco spec offers (`Hold`, `Line<n>` …), from its `Key:` actions. */
export function keyNames(spec: ControlSpec): string[] {
  const out: string[] = [];
  for (const a of spec.actions) {
    const m = /^Key:([A-Za-z_]+)(\{n\})?$/.exec(a.command ?? '');
    if (m) out.push(m[2] ? `${m[1]}<n>` : m[1]!);
  }
  return out;
}

/** Finds the spec action of a key name (`Hold`, `Line2`, `KeyPad5`, `Soft3`): action id and params. */
export function keyAction(
  spec: ControlSpec,
  key: string,
): { actionId: string; params: Record<string, unknown> } {
  const bad = () =>
    new ValidationError(
      'DIAL_KEY_UNKNOWN',
      `key: ${JSON.stringify(key.slice(0, 40))} is not a key of this phone (one of ${keyNames(spec).join(', ')})`,
      { field: 'key' },
    );
  const m = KEY_NAME.exec(key);
  if (!m) throw bad();
  const [, name, n] = m;
  for (const a of spec.actions) {
    const c = /^Key:([A-Za-z_]+)(\{n\})?$/.exec(a.command ?? '');
    if (!c) continue;
    if (n === undefined && !c[2] && c[1] === name) return { actionId: a.id, params: {} };
    if (n !== undefined && c[2] && c[1] === name) return { actionId: a.id, params: { n: Number(n) } };
  }
  throw bad();
}

export class DialService {
  constructor(private readonly deps: DialDeps) {}

  private device(id: string): Device {
    const d = this.deps.devices.get(id);
    if (!d) throw new NotFoundError('DEVICE_NOT_FOUND', `no device ${JSON.stringify(id)}`, { field: 'id' });
    return d;
  }

  /** Checks a number for a device without dialling (the console validates as the operator types). */
  numberFor(d: Device, number: string): string {
    const alphabet = ALPHABETS[d.kind];
    if (!alphabet)
      throw new ConflictError(
        'DIAL_UNSUPPORTED_KIND',
        `${d.id} is a ${d.kind} device; click-to-dial needs a desk phone (cisco, avaya)`,
        { field: 'id' },
      );
    const o = this.deps.options();
    return dialString(number, { alphabet, plusPrefix: o.plusPrefix, maxDigits: o.maxDigits });
  }

  async dial(deviceId: string, req: DialRequest): Promise<DialOutcome> {
    const d = this.device(deviceId);
    const number = this.numberFor(d, req.number);
    if (d.kind === 'cisco') {
      const result = await this.deps.actions.execute(d.id, 'dial', { dialSequence: number });
      return { deviceId: d.id, kind: d.kind, number, mode: 'dialled', result };
    }
    // Avaya (numberFor refused the rest).
    if (!req.prompt)
      throw new ConflictError(
        'AVAYA_DIAL_UNSUPPORTED',
        `${d.id}: the Avaya Push API cannot place a call (it pushes pages, top-line text and audio); send "prompt": true to show a page with a Call softkey the user presses`,
        { field: 'prompt' },
      );
    const result = await this.deps.actions.execute(d.id, 'push_display', {
      title: 'Call',
      text: `${req.note ? `${req.note.slice(0, 200)}\n` : ''}Press Call to dial ${number}.`,
      softkeys: [{ label: 'Call', dial: number }],
      mode: 'barge',
    });
    return { deviceId: d.id, kind: d.kind, number, mode: 'prompted', result };
  }

  async key(deviceId: string, key: string): Promise<KeyOutcome> {
    const d = this.device(deviceId);
    if (d.kind === 'avaya')
      throw new ConflictError(
        'AVAYA_KEYS_UNSUPPORTED',
        `${d.id}: the Avaya Push API cannot press keys (phonexml can only disable hard keys)`,
        { field: 'key' },
      );
    const spec = this.deps.spec(d.kind);
    if (d.kind !== 'cisco' || !spec)
      throw new ConflictError(
        'DIAL_UNSUPPORTED_KIND',
        `${d.id} is a ${d.kind} device; keys can be pressed on Cisco phones`,
        { field: 'id' },
      );
    const { actionId, params } = keyAction(spec, key);
    const result = await this.deps.actions.execute(d.id, actionId, params);
    return { deviceId: d.id, key, actionId, result };
  }
}
