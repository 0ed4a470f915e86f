import { describe, expect, it } from 'vitest';
import { generateSettingsFile } from '../../src/provisioning/autogen.js';
import { provisioningConfig } from '../../src/provisioning/config.js';
import { lintRemovals, lintSettings } from '../../src/provisioning/lint.js';

const codesAt = (text: string) =>
  lintSettings({ name: 'f.txt', text }).diagnostics.map((d) => `${d.line}:${d.code}`);

describe('linter', () => {
  it('flags each problem on its line', () => {
    const text = [
      '## header', // 1
      'IF $MODEL4 SEQ J179 GOTO J100', // 2
      'IF $COLOUR SEQ red GOTO J100', // 3
      'GOTO END', // 4
      'SET ORPHAN 1', // 5 unreachable
      '# NEVER', // 6 unreachable tag
      '# J100', // 7
      'SET SIPDOMAIN a.example', // 8
      'SET SIPDOMAIN b.example', // 9 duplicate in section
      'SET LIST a b', // 10 unquoted (a space; commas alone are fine: IP Office writes 1,2,9)
      'SET NAME “x”', // 11 curly
      `SET TPSLIST ${'a'.repeat(256)}`, // 12 too long
      'set B 1', // 13 lower-case keyword: read as SET, reported (info)
      'GOTO J100', // 14 backward
      'Hello there', // 15 unknown statement
      '#END', // 16 meant as the tag of GOTO END, but no space
      'SET URL "http://x/', // 17 unterminated
      '# END', // 18
      'SET PUSHCAP 222222', // 19 too long (5)
    ].join('\n');
    const codes = codesAt(text);
    for (const c of [
      '3:SETTINGS_UNKNOWN_VARIABLE',
      '5:SETTINGS_UNREACHABLE',
      '6:SETTINGS_TAG_UNREACHABLE',
      '9:SETTINGS_DUPLICATE_SET',
      '10:SETTINGS_UNQUOTED_VALUE',
      '11:SETTINGS_CURLY_QUOTES',
      '12:SETTINGS_VALUE_TOO_LONG',
      '13:SETTINGS_KEYWORD_CASE',
      '14:SETTINGS_GOTO_BACKWARD',
      '15:SETTINGS_UNKNOWN_STATEMENT',
      '16:SETTINGS_BAD_TAG',
      '17:SETTINGS_UNTERMINATED_QUOTE',
      '19:SETTINGS_VALUE_TOO_LONG',
    ]) {
      expect(codes).toContain(c);
    }
    // The same name in different sections is not a duplicate; line 8 itself is fine.
    expect(codes.filter((c) => c.startsWith('8:'))).toEqual([]);
    expect(codes.filter((c) => c.startsWith('1:'))).toEqual([]);
  });

  it('warns about Workplace IPv6 settings in 46xxspecials.txt only', () => {
    const text = 'SET SIGNALING_ADDR_MODE 6\nSET MEDIA_ADDR_MODE 6\n';
    const sp = lintSettings({ name: '46xxspecials.txt', text }).diagnostics.map((d) => `${d.line}:${d.code}`);
    expect(sp).toEqual(['1:SETTINGS_IPV6_IN_SPECIALS', '2:SETTINGS_IPV6_IN_SPECIALS']);
    expect(lintSettings({ name: '46xxsettings.txt', text }).diagnostics).toEqual([]);
  });

  it('warns when a setting Workplace clients had disappears (they keep the old value)', async () => {
    const hub = { publicUrl: 'http://192.0.2.10:8080', version: '1' };
    const before = generateSettingsFile(provisioningConfig({ pushNotifications: true }), { hub });
    const after = generateSettingsFile(provisioningConfig({ pushNotifications: false }), { hub });
    const d = await lintRemovals(
      { name: '46xxsettings.txt', text: before },
      { name: '46xxsettings.txt', text: after },
    );
    const names = d.map((x) => x.message.split(' ')[0]);
    expect(names.sort()).toEqual([
      'ENABLE_IPO_PORTAL_MESSAGING_PUSH',
      'TELEPHONY_PUSH_NOTIFICATION_SERVICE_URL',
    ]);
    expect(d[0]).toMatchObject({ code: 'SETTINGS_REMOVED_KEPT_BY_CLIENTS', severity: 'warning' });
    expect(d[0]?.message).toContain('aci');
    // Nothing removed → nothing reported.
    expect(await lintRemovals({ name: 'a', text: after }, { name: 'a', text: after })).toEqual([]);
  });
});
