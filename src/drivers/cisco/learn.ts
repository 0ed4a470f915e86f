import type { Device } from '../../core/devices.js';
import { errorMessage } from '../../core/errors.js';
import type { HubContext } from '../../core/module.js';
import type { CiscoSettings } from './driver.js';

/** A Cisco device name: SEP + 12 hex digits (desk phones), or another name of letters, digits, dashes. */
const DEVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export type DeviceNameOutcome =
  | { state: 'known'; deviceName: string }
  | { state: 'learnt'; deviceName: string }
  | { state: 'unknown'; reason: string };

/**
 * Phones that use the hub as their authentication URL send their device name with every credential check
 * (`devicename=SEP…`); the hub accepts a device's own push credentials only for the device with that name.
 * A Cisco device added without `settings.deviceName` gets it from the phone (DeviceInformationX
 * `HostName`). When the phone does not tell it, a warning is logged and `device.warning` emitted: alerts to
 * that phone fail with CISCO_ERROR_4 unless the credentials are in `cisco.authentication.users`.
 */
export async function learnDeviceName(
  hub: Pick<HubContext, 'actions' | 'devices' | 'logger' | 'bus'>,
  device: Device,
  opts: { signal?: AbortSignal; timeoutMs?: number; hostName?: string } = {},
): Promise<DeviceNameOutcome> {
  const known = (device.settings as Partial<CiscoSettings>).deviceName;
  if (known) return { state: 'known', deviceName: known };
  let hostName = opts.hostName;
  let reason = '';
  if (hostName === undefined) {
    try {
      const r = await hub.actions.execute(
        device.id,
        'query_device_information_xml',
        {},
        {
          ...(opts.signal ? { signal: opts.signal } : {}),
          timeoutMs: opts.timeoutMs ?? 5000,
        },
      );
      if (r.ok) hostName = (r.data as { hostName?: unknown } | undefined)?.hostName as string | undefined;
      else reason = r.message ?? r.outcome ?? 'the phone refused DeviceInformationX';
    } catch (e) {
      reason = errorMessage(e);
    }
  }
  if (typeof hostName === 'string' && DEVICE_NAME.test(hostName.trim())) {
    const name = hostName.trim();
    try {
      if (hub.devices.get(device.id)) await hub.devices.update(device.id, { settings: { deviceName: name } });
      hub.logger.info({ device: device.id, deviceName: name }, 'cisco: device name learnt from the phone');
      return { state: 'learnt', deviceName: name };
    } catch (e) {
      reason = errorMessage(e);
    }
  } else if (!reason) reason = 'DeviceInformationX has no usable HostName';
  hub.logger.warn(
    { device: device.id, reason: reason.slice(0, 200) },
    'cisco: the device name (settings.deviceName) is not set and could not be read from the phone: pushes checked by the authentication URL will fail (CISCO_ERROR_4)',
  );
  hub.bus.emit({
    source: device.id,
    type: 'device.warning',
    data: { deviceId: device.id, code: 'CISCO_DEVICE_NAME_UNKNOWN', message: reason.slice(0, 200) },
  });
  return { state: 'unknown', reason };
}
