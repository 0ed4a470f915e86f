import { describe, expect, it } from 'vitest';
import {
  generateSpacesProfile,
  SPACES_TEXT_MAX,
  validateSpacesProfile,
} from '../../src/provisioning/spaces-profile.js';

/**
 * Seed 002 ("Enabling Spaces Calling Support for the Customer Domain", "Spaces Calling Profile Settings"):
 * the seed's own examples are the golden vectors, byte for byte as laid out in the seed.
 */
const SEED_SINGLE = `{
  "IP_Office_Server_Profile":
  [{
    "Name": "Head Office",
    "Address": "primary.example.com",
    "AccountsToken": true
  }]
}
`;
const SEED_MULTIPLE = `{
  "IP_Office_Server_Profile":
  [{
    "Name": "West",
    "Address": "west.example.com",
    "AccountsToken": true
  },
  {
    "Name": "East",
    "Address": "east.example.com",
    "AccountsToken": true
  }]
}
`;

const codes = (t: string) => validateSpacesProfile(t).problems.map((p) => p.code);

describe('generateSpacesProfile', () => {
  it('writes the seed single-system example byte for byte', () => {
    expect(
      generateSpacesProfile([{ Name: 'Head Office', Address: 'primary.example.com', AccountsToken: true }]),
    ).toBe(SEED_SINGLE);
  });
  it('writes the seed multiple-systems example byte for byte', () => {
    expect(
      generateSpacesProfile([
        { Name: 'West', Address: 'west.example.com', AccountsToken: true },
        { Name: 'East', Address: 'east.example.com', AccountsToken: true },
      ]),
    ).toBe(SEED_MULTIPLE);
  });
  it('quotes names and values, leaves booleans unquoted, in the seed table order', () => {
    const t = generateSpacesProfile([
      {
        ApplyToPlusNumber: false,
        Name: 'HQ',
        DialRule: true,
        Address: 'hq.example.com',
        AccountsToken: false,
        STUNPort: '3478',
        CityCode: '555,777',
      },
    ]);
    expect(t).toContain('"AccountsToken": false,\n    "STUNPort": "3478",\n    "DialRule": true,');
    expect(t).toContain('"CityCode": "555,777",\n    "ApplyToPlusNumber": false\n');
    expect(validateSpacesProfile(t)).toMatchObject({ ok: true, problems: [] });
  });
});

describe('validateSpacesProfile: the seed examples pass', () => {
  it('accepts both seed examples with no problems', () => {
    expect(validateSpacesProfile(SEED_SINGLE)).toMatchObject({ ok: true, problems: [] });
    const m = validateSpacesProfile(SEED_MULTIPLE);
    expect(m.ok).toBe(true);
    expect(m.profiles.map((p) => p.Name)).toEqual(['West', 'East']);
  });
});

describe('validateSpacesProfile explains errors in the terms of seed 002', () => {
  it('a quoted boolean: "do not enclose those values in quote marks", with the line', () => {
    const r = validateSpacesProfile(SEED_SINGLE.replace('"AccountsToken": true', '"AccountsToken": "true"'));
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({
      code: 'SPACES_BOOLEAN_QUOTED',
      path: 'IP_Office_Server_Profile[0].AccountsToken',
      line: 6,
    });
    expect(r.problems[0]!.message).toContain('do not enclose them in " " quote marks');
  });
  it('an unquoted value: "enclose setting names and values in quote marks"', () => {
    const t = SEED_SINGLE.replace('"AccountsToken": true', '"AccountsToken": true,\n    "STUNPort": 3478');
    const r = validateSpacesProfile(t);
    expect(r.problems[0]).toMatchObject({ code: 'SPACES_VALUE_UNQUOTED', line: 7 });
    expect(r.problems[0]!.message).toContain('write "STUNPort": "3478"');
  });
  it('a comma after the last pair, a missing comma, single and typographic quotes, unquoted names', () => {
    expect(codes(SEED_SINGLE.replace('"AccountsToken": true', '"AccountsToken": true,'))).toEqual([
      'SPACES_TRAILING_COMMA',
    ]);
    expect(codes(SEED_SINGLE.replace('"primary.example.com",', '"primary.example.com"'))).toEqual([
      'SPACES_MISSING_COMMA',
    ]);
    expect(codes(SEED_SINGLE.replace('"Head Office"', "'Head Office'"))).toContain('SPACES_SINGLE_QUOTES');
    expect(codes(SEED_SINGLE.replace('"Head Office"', '“Head Office”'))).toContain('SPACES_CURLY_QUOTES');
    expect(codes(SEED_SINGLE.replace('"Address"', 'Address'))).toContain('SPACES_NAME_UNQUOTED');
    const r = validateSpacesProfile(SEED_SINGLE.replace('"AccountsToken": true', '"AccountsToken": true,'));
    expect(r.problems[0]!.message).toContain('except for the last pair');
    expect(r.problems[0]!.line).toBe(6);
  });
  it('Name: maximum 14 characters; required settings; duplicate names', () => {
    expect(codes(SEED_SINGLE.replace('Head Office', 'Head Office East'))).toEqual(['SPACES_NAME_INVALID']);
    expect(validateSpacesProfile(SEED_SINGLE.replace('Head Office', 'Head Office 14')).ok).toBe(true);
    expect(codes(SEED_SINGLE.replace(',\n    "AccountsToken": true', ''))).toEqual([
      'SPACES_SETTING_MISSING',
    ]);
    expect(codes(SEED_MULTIPLE.replace('"East"', '"West"'))).toEqual(['SPACES_NAME_DUPLICATE']);
  });
  it('names are case-sensitive; unknown settings warn; dialing settings without DialRule warn', () => {
    expect(codes(SEED_SINGLE.replace('"Address"', '"address"'))).toEqual([
      'SPACES_SETTING_CASE',
      'SPACES_SETTING_MISSING',
    ]);
    const w = validateSpacesProfile(
      SEED_SINGLE.replace(
        '"AccountsToken": true',
        '"AccountsToken": true,\n    "OutsidePrefix": "9",\n    "Color": "red"',
      ),
    );
    expect(w.ok).toBe(true);
    expect(w.problems.map((p) => [p.code, p.severity])).toEqual([
      ['SPACES_UNKNOWN_SETTING', 'warning'],
      ['SPACES_DIALING_WITHOUT_DIALRULE', 'warning'],
    ]);
  });
  it('attacker first: not an object, a huge text, a thousand profiles, deep nesting: problems, never a throw', () => {
    expect(codes('[]')).toEqual(['SPACES_ROOT_INVALID']);
    expect(codes('{"IP_Office_Server_Profile": []}')).toEqual(['SPACES_ROOT_INVALID']);
    expect(codes('x'.repeat(SPACES_TEXT_MAX + 1))).toEqual(['SPACES_TOO_LARGE']);
    const many = JSON.stringify({
      IP_Office_Server_Profile: Array.from({ length: 101 }, (_, i) => ({
        Name: `S${i}`,
        Address: 'a.b',
        AccountsToken: true,
      })),
    });
    expect(codes(many)).toEqual(['SPACES_TOO_LARGE']);
    expect(codes(`{"IP_Office_Server_Profile": [${'['.repeat(5000)}${']'.repeat(5000)}]}`)).toEqual([
      'SPACES_PROFILE_INVALID',
    ]);
    expect(
      codes('{"IP_Office_Server_Profile": [{"Name": {"x": 1}, "Address": "..", "AccountsToken": 1}]}'),
    ).toEqual(['SPACES_VALUE_INVALID', 'SPACES_VALUE_INVALID', 'SPACES_BOOLEAN_INVALID']);
  });
});
