import { Devlink3RecordError } from './errors.js';

/**
 * `nasystem/user_list` as read with ReadFile. The format is not in the seed: the research note (TFTP
 * readers of the same pseudo-file) gives CRLF lines `name,extension,full_name,…,user_id`. We read the first
 * three fields and the last one, and keep the rest raw. Encoding: UTF-8 when valid, else ISO-8859-1.
 */
export interface IpoUser {
  name: string;
  extension: string;
  fullName: string;
  userId: string;
  fields: string[];
}

export const MAX_USERS = 100_000;

export function decodeFileText(b: Uint8Array): string {
  const s = Buffer.from(b).toString('utf8');
  return s.includes('\uFFFD') ? Buffer.from(b).toString('latin1') : s;
}

export function parseUserList(text: string): IpoUser[] {
  const out: IpoUser[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/\0+$/, '').trim();
    if (line === '') continue;
    if (out.length >= MAX_USERS) throw new Devlink3RecordError(`user_list: more than ${MAX_USERS} users`);
    const f = line.split(',');
    if (f.length < 2) continue;
    out.push({
      name: f[0]!.trim(),
      extension: f[1]!.trim(),
      fullName: (f[2] ?? '').trim(),
      userId: f.length > 3 ? f[f.length - 1]!.trim() : '',
      fields: f,
    });
  }
  return out;
}

export function formatUserList(
  users: Array<Pick<IpoUser, 'name' | 'extension' | 'fullName' | 'userId'>>,
): string {
  return users.map((u) => `${u.name},${u.extension},${u.fullName},0,1,${u.userId}\r\n`).join('');
}
