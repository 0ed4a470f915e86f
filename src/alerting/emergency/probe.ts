import net from 'node:net';
import type { Device } from '../../core/devices.js';
import { errorMessage } from '../../core/errors.js';
import type { HubContext } from '../../core/module.js';
import { parseTarget } from '../../drivers/avaya/initiator.js';
import { learnDeviceName } from '../../drivers/cisco/learn.js';
import type { ProbeResult } from './supervisor.js';

/**
 * The supervisor's phone probe (cheap, read-only): a Cisco phone's DeviceInformationX page (one small HTTP
 * GET, no credentials; its HostName also gives a missing device name), an Avaya phone's push agent (a TCP
 * connect, closed at once). Other kinds are not probed (reachability unknown).
 */
export function phoneProbe(
  hub: HubContext,
): (device: Device, signal: AbortSignal) => Promise<ProbeResult | undefined> {
  return async (device, signal) => {
    if (device.kind === 'cisco') {
      const r = await hub.actions.execute(device.id, 'query_device_information_xml', {}, { signal });
      if (!r.ok) return { reachable: false, error: r.message ?? r.outcome ?? 'refused' };
      const hostName = (r.data as { hostName?: unknown } | undefined)?.hostName;
      const known = (device.settings as { deviceName?: string }).deviceName;
      if (!known) {
        const o = await learnDeviceName(hub, device, {
          signal,
          hostName: typeof hostName === 'string' ? hostName : '',
        });
        if (o.state === 'unknown')
          return {
            reachable: true,
            problem: {
              code: 'SECURITY_PHONE_NO_DEVICE_NAME',
              message: `settings.deviceName is not set and the phone does not tell it (${o.reason})`,
            },
          };
      }
      return { reachable: true };
    }
    if (device.kind === 'avaya') {
      const port = Number((device.settings as { pushPort?: number }).pushPort ?? hub.config.avaya.pushPort);
      return tcpProbe(parseTarget(device.address, port), signal);
    }
    return undefined;
  };
}

/** Opens a TCP connection and closes it at once: the port accepts (reachable) or not. */
export function tcpProbe(t: { host: string; port: number }, signal: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port });
    const done = (r: ProbeResult) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(r);
    };
    const onAbort = () => done({ reachable: false, error: 'timeout' });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done({ reachable: true }));
    socket.once('error', (e) => done({ reachable: false, error: errorMessage(e).slice(0, 200) }));
  });
}
