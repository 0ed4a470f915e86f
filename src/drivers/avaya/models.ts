import { ValidationError } from '../../core/errors.js';

/**
 * Which push types each Avaya model takes (pure; the hub refuses before sending, the broadcast planner falls
 * back, the simulator refuses the same way). Sources: seed 000 (Multicast Audio Receive on 96x1 and 96x0 H.323
 * ≥ 3.0) and research/avaya-push.md §1 (J100 admin guide: Display not on J129/J139; DevConnect: not on
 * J139/J159; Audio Transmit not on J100 SIP; 4600 R2.x: display, top line, audio receive, subscribe only).
 * J100 phones run SIP firmware in IP Office deployments and the model alone cannot tell H.323 from SIP, so
 * every J1xx is treated as SIP [inferred]. Unknown models are not restricted.
 */
export type PushCapabilityName =
  | 'topline'
  | 'display'
  | 'audio'
  | 'audio_multicast'
  | 'audio_transmit'
  | 'subscribe'
  | 'phonexml';

const ALL: readonly PushCapabilityName[] = [
  'topline',
  'display',
  'audio',
  'audio_multicast',
  'audio_transmit',
  'subscribe',
  'phonexml',
];

interface ModelRule {
  test: RegExp;
  family: string;
  unsupported: PushCapabilityName[];
}

const RULES: ModelRule[] = [
  { test: /^J(129|139|159)$/, family: 'J100 (no WML browser)', unsupported: ['display', 'audio_transmit'] },
  { test: /^J1\d\d$/, family: 'J100 SIP', unsupported: ['audio_transmit'] },
  {
    test: /^46\d\d$/,
    family: '4600',
    unsupported: ['audio_multicast', 'audio_transmit', 'phonexml'],
  },
];

/** The model as the device settings or a SetID give it (`J139`, `j139`, `J139D01A` → `J139`). */
export function normaliseModel(model: string | undefined): string | undefined {
  if (!model) return undefined;
  const m = /^(J\d{3}|K\d{3}|\d{4}[A-Z]?)/i.exec(model.trim());
  return (m ? m[1]! : model.trim()).toUpperCase();
}

/** The push types `model` does not take, with the family named in refusals. */
export function modelRestrictions(
  model: string | undefined,
): { family: string; unsupported: readonly PushCapabilityName[] } | undefined {
  const m = normaliseModel(model);
  if (!m) return undefined;
  const rule = RULES.find((r) => r.test.test(m.replace(/[A-Z]$/, '')));
  return rule ? { family: rule.family, unsupported: rule.unsupported } : undefined;
}

/** Whether `model` takes this push type (unknown models: yes). */
export function modelSupports(model: string | undefined, cap: PushCapabilityName): boolean {
  return !(modelRestrictions(model)?.unsupported.includes(cap) ?? false);
}

export function supportedPushTypes(model: string | undefined): PushCapabilityName[] {
  return ALL.filter((c) => modelSupports(model, c));
}

const LABEL: Record<PushCapabilityName, string> = {
  topline: 'Top Line',
  display: 'Display (WML)',
  audio: 'Audio Receive',
  audio_multicast: 'Multicast Audio Receive',
  audio_transmit: 'Audio Transmit',
  subscribe: 'Subscribe',
  phonexml: 'phonexml',
};

/** A push the phone's model cannot take; refused before anything is sent. */
export class UnsupportedPushError extends ValidationError {
  constructor(model: string, cap: PushCapabilityName, family: string) {
    super(
      'AVAYA_PUSH_UNSUPPORTED_BY_MODEL',
      `an Avaya ${model} (${family}) does not support ${LABEL[cap]} pushes; it takes ${supportedPushTypes(
        model,
      )
        .map((c) => LABEL[c])
        .join(', ')}`,
      { status: 422, field: 'action', details: { model, capability: cap } },
    );
  }
}

/** Throws UnsupportedPushError when `model` does not take `cap`. */
export function assertModelSupports(model: string | undefined, cap: PushCapabilityName): void {
  const r = modelRestrictions(model);
  if (r?.unsupported.includes(cap)) throw new UnsupportedPushError(normaliseModel(model)!, cap, r.family);
}
