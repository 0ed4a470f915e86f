import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionWords, groupActions } from '../../console/src/actions.js';
import {
  deliveriesOf,
  naturalCompare,
  needsConfirmation,
  progressOf,
  reasonText,
} from '../../console/src/lib.js';
import { loadSpecFile } from '../../src/core/spec.js';
import { PUSH_STATUS_CODES } from '../../src/drivers/avaya/push-status.js';
import { ROOT } from '../helpers/process.js';

const cisco = loadSpecFile(join(ROOT, 'specs', 'cisco.yaml'));
const avaya = loadSpecFile(join(ROOT, 'specs', 'avaya.yaml'));

describe('phone actions grouped by what they do', () => {
  it('puts every Cisco action of the spec in exactly one group, none labelled with an XML name', () => {
    const groups = groupActions(cisco.actions);
    const ids = groups.flatMap((g) => g.actions.map((a) => a.action.id));
    expect(ids.sort()).toEqual(cisco.actions.map((a) => a.id).sort());
    expect(new Set(ids).size).toBe(ids.length);
    const labels = groups.flatMap((g) => g.actions.map((a) => a.label));
    for (const l of labels) {
      expect(l).not.toMatch(/CiscoIPPhone(?!Execute)|Display Object|^Key - |^SoftKey - |^Init - /);
      expect(l.length).toBeGreaterThan(3);
    }
    // Labels are unique inside a group, so a person can tell the options apart.
    for (const g of groups) expect(new Set(g.actions.map((a) => a.label)).size).toBe(g.actions.length);
  });

  it('groups by task, most used first: the text message is the first thing offered', () => {
    const groups = groupActions(cisco.actions);
    expect(groups[0]!.label).toBe('Show on the screen');
    const where = (id: string) => groups.find((g) => g.actions.some((a) => a.action.id === id))?.label;
    expect(where('object_text')).toBe('Show on the screen');
    expect(where('key_hold')).toBe('Press a key');
    expect(where('init_call_history')).toBe('Clear the screen and close apps');
    expect(where('rtp_mrx')).toBe('Sound and audio');
    expect(where('dial')).toBe('Calls and dialling');
    expect(where('get_screenshot')).toBe('Phone information');
    expect(where('query_device_log_xml')).toBe('Phone information');
    expect(where('push_execute')).toBe('Advanced (raw protocol)');
    expect(groups.at(-1)!.label).toBe('Advanced (raw protocol)');
  });

  it('words actions from the spec labels', () => {
    const by = (id: string) => actionWords(cisco.actions.find((a) => a.id === id)!);
    expect(by('object_text')).toBe('Show a text message');
    expect(by('key_hold')).toBe('Press Hold');
    expect(by('key_soft')).toBe('Press softkey (1–5)');
    expect(by('key_nav_dwn')).toBe('Press Nav Down');
    expect(by('softkey_exit')).toBe('Softkey Exit');
    expect(by('init_call_history')).toBe('Clear Missed/Received/Placed logs');
    expect(by('query_device_information')).toBe('Device Information (web page)');
    expect(by('query_device_information_xml')).toBe('Device Information');
    // An action the console has no words for keeps the spec's label (made readable).
    expect(actionWords({ id: 'x', label: 'Do_the thing', kind: 'action' })).toBe('Do the thing');
  });

  it('groups the Avaya actions too (no tags: by id)', () => {
    const groups = groupActions(avaya.actions);
    expect(groups.map((g) => g.label)).toContain('Show on the screen');
    expect(groups.flatMap((g) => g.actions).length).toBe(avaya.actions.length);
    expect(groups[0]!.actions.map((a) => a.label)).toContain('Show a full-screen page');
  });
});

describe('delivery report helpers', () => {
  it('percent means delivered: 250 of 250 failed is 0 %, not 100 %', () => {
    const failed = deliveriesOf(
      Array.from({ length: 250 }, (_, i) => ({ deviceId: `p${i}`, state: 'failed', reason: 'unreachable' })),
    );
    const p = progressOf(failed);
    expect(p).toMatchObject({ total: 250, done: 250, delivered: 0, failed: 250, pct: 0 });
    expect(p.bar).toEqual({ delivered: 0, failed: 100, sent: 0 });
    // 249 of 250 delivered is 99 %: 100 % only when every phone has it.
    const almost = deliveriesOf([
      ...Array.from({ length: 249 }, (_, i) => ({ deviceId: `p${i}`, state: 'displayed' })),
      { deviceId: 'last', state: 'sent' },
    ]);
    expect(progressOf(almost)).toMatchObject({ pct: 99, sent: 1, done: 249 });
  });

  it('moves while deliveries are sent (the bar has a segment for phones the hub is waiting for)', () => {
    const ds = deliveriesOf([
      { deviceId: 'a', state: 'sent' },
      { deviceId: 'b', state: 'sent' },
      { deviceId: 'c', state: 'queued' },
      { deviceId: 'd', state: 'queued' },
    ]);
    const p = progressOf(ds);
    expect(p).toMatchObject({ pct: 0, sent: 2, queued: 2 });
    expect(p.bar.sent).toBe(50);
  });

  it('says failure codes in words, for every Avaya push status and the engine codes', () => {
    for (const s of Object.values(PUSH_STATUS_CODES)) {
      if (s.delivered) continue;
      expect(reasonText(s.outcome), s.outcome).not.toBe(s.outcome);
      expect(reasonText(s.outcome)).toMatch(/^[A-Z]/);
    }
    for (const code of [
      'unreachable',
      'cancelled',
      'expired',
      'interrupted',
      'busy_suppressed',
      'CISCO_ERROR_4',
    ])
      expect(reasonText(code)).not.toMatch(/_/);
    expect(reasonText('status_3')).toBe('The phone answered with status 3');
    expect(reasonText('SOMETHING_NEW')).toBe('SOMETHING NEW');
    expect(reasonText(null)).toBe('');
  });

  it('sorts phone names naturally', () => {
    expect(['x10', 'x2', 'X1', 'x1b'].sort(naturalCompare)).toEqual(['X1', 'x1b', 'x2', 'x10']);
  });

  it('asks to confirm urgent and emergency sends and sends to all phones', () => {
    expect(needsConfirmation({ priority: 'normal', all: false })).toBe(false);
    expect(needsConfirmation({ priority: 'normal', all: true })).toBe(true);
    expect(needsConfirmation({ priority: 'urgent', all: false })).toBe(true);
    expect(needsConfirmation({ priority: 'emergency', all: false })).toBe(true);
  });
});
