import { describe, expect, it } from 'vitest';
import { startTestHub } from '../../helpers/hub.js';
import { testphoneDriver } from '../../helpers/testphone-driver.js';

describe('rules from the config file', () => {
  it('loads the rules: section (read-only through the API) and the broadcast.templates list', async () => {
    const hub = await startTestHub({
      drivers: [testphoneDriver()],
      config: {
        'broadcast.templates': [{ id: 'hello', title: 'Hi', text: 'Call from {{from}}' }],
        rules: [
          {
            id: 'cfg-1',
            event: 'call.started',
            where: { direction: 'inbound' },
            actions: [{ type: 'broadcast', template: 'hello', targets: { groups: ['reception'] } }],
          },
        ],
      },
    });
    try {
      const r = await hub.api<{ rules: Array<Record<string, unknown>> }>('GET', '/api/rules');
      expect(r.body.rules).toEqual([
        expect.objectContaining({ id: 'cfg-1', origin: 'config', enabled: true }),
      ]);
      const put = await hub.api<{ error: { code: string } }>('PUT', '/api/rules/cfg-1', {
        event: 'call.started',
        actions: [{ type: 'webhook', url: 'http://127.0.0.1:1/x' }],
      });
      expect(put.status).toBe(409);
      expect(put.body.error.code).toBe('RULE_FROM_CONFIG');
      expect((await hub.api('DELETE', '/api/rules/cfg-1')).status).toBe(409);
    } finally {
      await hub.close();
    }
  });

  it('an invalid config rule stops start-up with the rule index and field', async () => {
    await expect(
      startTestHub({
        config: {
          rules: [
            { id: 'ok', event: 'call.started', actions: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }] },
            { id: 'bad', event: 'call.nope', actions: [{ type: 'webhook', url: 'http://127.0.0.1:1/' }] },
          ],
        },
      }),
    ).rejects.toThrow(/rules\.1\.event: "call\.nope" is not a known event type/);
  });
});
