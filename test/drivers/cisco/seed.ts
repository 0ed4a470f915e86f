import { readFileSync } from 'node:fs';

/** Reads the Actions section of seed 003 (the specification) into id → { label, kind, command }. */
export interface SeedEntry {
  id: string;
  label: string;
  kind: string;
  command: string;
}

export const SEED_PATH = new URL('./fixtures/seed-003.txt', import.meta.url);

export function readSeedActions(): SeedEntry[] {
  const lines = readFileSync(SEED_PATH, 'utf8').split('\n');
  const body = lines.slice(lines.indexOf('Actions') + 1, lines.indexOf('Feedbacks'));
  const out: SeedEntry[] = [];
  let cur: SeedEntry | undefined;
  let block: string[] | undefined;
  const unq = (s: string) => (/^(["']).*\1$/.test(s.trim()) ? s.trim().slice(1, -1) : s.trim());
  const endBlock = () => {
    if (block && cur) cur.command = `${block.join('\n')}\n`;
    block = undefined;
  };
  for (const line of body) {
    if (
      block &&
      (line.startsWith('# =====') || line.startsWith('- id: ') || /^(params:|notes:|- name:)/.test(line))
    )
      endBlock();
    if (block) {
      block.push(line);
      continue;
    }
    const id = /^- id: (.*)$/.exec(line);
    const label = /^label: (.*)$/.exec(line);
    const kind = /^kind: (.*)$/.exec(line);
    const command = /^command: (.*)$/.exec(line);
    if (id) {
      cur = { id: id[1]!, label: '', kind: '', command: '' };
      out.push(cur);
    } else if (cur && label) cur.label = unq(label[1]!);
    else if (cur && kind) cur.kind = kind[1]!;
    else if (cur && line === 'command: |') block = [];
    else if (cur && command) cur.command = unq(command[1]!);
  }
  endBlock();
  return out;
}
