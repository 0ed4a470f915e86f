import type { Scenario } from './scenario.js';
import type { Devlink3Simulator } from './server.js';

/**
 * Random call generator for load and demos: builds small scenarios (internal, inbound to a hunt group,
 * outbound) with random extensions and durations, using the same placeholders as the YAML scenarios.
 */
export interface GeneratorOptions {
  extensions?: string[];
  random?: () => number;
  /** Scale of ring/talk delays in ms (0 = no delays). */
  timeScaleMs?: number;
}

const phone = (id: string, ext: string, state: number, tone: number, calledType: number, dialled: string) =>
  `${id},1,${state},1,${tone},0,0,0,1,8,106,,${ext},${calledType},0,,${dialled},,,,,${ext},0,5,"",`;
const answerer = (id: string, ext: string, cli: string) =>
  `${id},0,2,1,0,0,0,0,1,8,106,,${ext},101,0,,,,,,,${cli},0,5,"",`;
const trunkIn = (id: string, state: number, cli: string, did: string) =>
  `${id},1,${state},1,${state === 2 ? 0 : 2},0,1,0,0,5,0,sip-gen@127.0.0.1,,0,0,${did},,,,,,${cli},0,9,"",`;

export function randomCall(o: GeneratorOptions = {}): Scenario {
  const rnd = o.random ?? Math.random;
  const exts = o.extensions ?? ['4001', '4002', '4003', '4004', '4005'];
  const pick = () => exts[Math.floor(rnd() * exts.length)]!;
  const t = o.timeScaleMs ?? 100;
  const ring = Math.round((1 + rnd() * 4) * t);
  const talk = Math.round((2 + rnd() * 20) * t);
  const kind = rnd();
  const call = (n: string) => `{node},{call},,,,0,,,${n},,${n},0,0,0,{ts},0,,0`;
  if (kind < 0.4) {
    const a = pick();
    let b = pick();
    if (b === a) b = exts[(exts.indexOf(a) + 1) % exts.length]!;
    return {
      name: 'random-internal',
      steps: [
        {
          delta3: `<Detail><Call>${call(b)}</Call><PartyA>${phone('{e:a}', a, 19, 2, 101, b)}</PartyA><Target_list><Target>{e:b},0,0,8,106,,${b},101,0,,,,${a},0</Target></Target_list></Detail>`,
        },
        {
          delay_ms: ring,
          delta3: `<Detail><Call>${call(b)}</Call><PartyA>${phone('{e:a}', a, 2, 0, 101, b)}</PartyA><PartyB>${answerer('{e:b}', b, a)}</PartyB></Detail>`,
        },
        { delay_ms: talk, delta3: '<CallLost>{node},{e:a},1,16,{ts}</CallLost>' },
        { delta3: '<CallLost>{node},{e:b},0,16,{ts}</CallLost>' },
      ],
    };
  }
  if (kind < 0.8) {
    const b = pick();
    const cli = `0170${Math.floor(1_000_000 + rnd() * 8_999_999)}`;
    return {
      name: 'random-inbound',
      steps: [
        {
          delta3: `<Detail><Call>{node},{call},,,,0,200,200,,200,,0,0,0,{ts},0,,0</Call><PartyA>${trunkIn('{e:t}', 19, cli, '5678')}</PartyA><Target_list><Target>{e:b},0,0,8,106,,${b},0,4,,,200,9${cli},0</Target></Target_list></Detail>`,
        },
        {
          delay_ms: ring,
          delta3: `<Detail><Call>{node},{call},,,,0,200,200,,200,${b},0,0,0,{ts},0,,0</Call><PartyA>${trunkIn('{e:t}', 2, cli, '5678')}</PartyA><PartyB>${answerer('{e:b}', b, cli)}</PartyB></Detail>`,
        },
        { delay_ms: talk, delta3: '<CallLost>{node},{e:t},1,16,{ts}</CallLost>' },
        { delta3: '<CallLost>{node},{e:b},0,16,{ts}</CallLost>' },
      ],
    };
  }
  const a = pick();
  const num = `90${Math.floor(100_000_000 + rnd() * 899_999_999)}`;
  return {
    name: 'random-outbound',
    steps: [
      {
        delta3: `<Detail><Call>${call('')}</Call><PartyA>${phone('{e:a}', a, 19, 2, 2, num)}</PartyA><PartyB>{e:t},0,1,1,0,0,1,0,0,5,0,sip-gen@127.0.0.1,,2,0,,,,${num.slice(1)},,,${a},0,0,"",</PartyB></Detail>`,
      },
      {
        delay_ms: ring,
        delta3: `<Detail><Call>${call('')}</Call><PartyA>${phone('{e:a}', a, 2, 0, 2, num)}</PartyA><PartyB>{e:t},0,2,1,0,0,1,0,0,5,0,sip-gen@127.0.0.1,,2,0,,,,${num.slice(1)},,,${a},0,0,"",</PartyB></Detail>`,
      },
      { delay_ms: talk, delta3: '<CallLost>{node},{e:a},1,16,{ts}</CallLost>' },
      { delta3: '<CallLost>{node},{e:t},0,16,{ts}</CallLost>' },
    ],
  };
}

/**
 * Starts random calls at `callsPerSecond` until stopped (bounded by `maxCalls` when given).
 * Returns a stop function.
 */
export function startRandomCalls(
  sim: Devlink3Simulator,
  o: GeneratorOptions & { callsPerSecond: number; maxCalls?: number },
): { stop(): void; readonly started: number } {
  const period = Math.max(1, Math.round(1000 / Math.max(0.001, o.callsPerSecond)));
  const ac = new AbortController();
  let started = 0;
  const timer = setInterval(() => {
    if (o.maxCalls !== undefined && started >= o.maxCalls) {
      clearInterval(timer);
      return;
    }
    started++;
    void sim.play(randomCall(o), {}, { signal: ac.signal });
  }, period);
  return {
    stop() {
      clearInterval(timer);
      ac.abort();
    },
    get started() {
      return started;
    },
  };
}
