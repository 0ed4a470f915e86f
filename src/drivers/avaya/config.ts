import { type Static, Type } from 'typebox';

/** `avaya:` section of switchboard.yaml. */
export const AvayaConfigSchema = Type.Object(
  {
    pushPort: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 80,
      description: "Phones' PUSHPORT, used for discovered phones and devices without a port.",
    }),
    pushTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 120_000,
      default: 5000,
      description: 'Timeout of one push request.',
    }),
    contentTtlS: Type.Integer({
      minimum: 5,
      maximum: 86_400,
      default: 300,
      description: 'How long pushed content stays fetchable.',
    }),
    mediaDir: Type.String({
      default: '',
      description: 'Directory of WAV files for audio pushes (default <dataDir>/media).',
    }),
    multicastInterface: Type.String({
      default: '',
      description: 'Local IPv4 address multicast RTP leaves from (default: OS choice).',
    }),
    multicastTtl: Type.Integer({
      minimum: 1,
      maximum: 255,
      default: 4,
      description: 'IP TTL of multicast RTP.',
    }),
    multicastLeadMs: Type.Integer({
      minimum: 0,
      maximum: 30_000,
      default: 1000,
      description: 'Delay between the first multicast push and the start of the stream.',
    }),
    maxDiscoveredPhones: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 20_000,
      description:
        'Subscriptions that would create more avaya devices than this are refused (the endpoint is unauthenticated, as phones send no credentials).',
    }),
    subscription: Type.Object(
      {
        trustedProxies: Type.Array(Type.String({ minLength: 2, maxLength: 64 }), {
          default: [],
          maxItems: 100,
          description:
            'Addresses or CIDR ranges (`10.1.0.0/16`) whose /avaya/subscribe requests may name another phone address in `ip=` (a relay in front of the phones). From anywhere else `ip=` must equal the socket address.',
        }),
        allowLoopback: Type.Boolean({
          default: false,
          description:
            'Accept phones at loopback addresses (127.0.0.0/8, ::1): the simulators and `switchboard demo` only.',
        }),
        allowLinkLocal: Type.Boolean({
          default: false,
          description:
            'Accept phones at link-local addresses (169.254.0.0/16, fe80::/10). Cloud metadata addresses (169.254.169.254, fd00:ec2::254) are refused regardless.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    transmitIdleS: Type.Integer({
      minimum: 1,
      maximum: 600,
      default: 10,
      description: 'Audio Transmit: close the receive port after this many seconds without RTP.',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type AvayaConfig = Static<typeof AvayaConfigSchema>;

export const AVAYA_CONFIG_DEFAULTS: AvayaConfig = {
  pushPort: 80,
  pushTimeoutMs: 5000,
  contentTtlS: 300,
  mediaDir: '',
  multicastInterface: '',
  multicastTtl: 4,
  multicastLeadMs: 1000,
  transmitIdleS: 10,
  maxDiscoveredPhones: 20_000,
  subscription: { trustedProxies: [], allowLoopback: false, allowLinkLocal: false },
};
