/**
 * Duplicate object keys in a JSON text (`{"msg":"a","msg":"b"}`), which JSON.parse silently resolves to
 * the last one. A minimal JSON scanner: only strings and structure matter, values are skipped.
 * Returns each duplicate as `path.key`; throws on text that is not JSON.
 */
export function duplicateKeys(text: string): string[] {
  let i = 0;
  const dupes: string[] = [];
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    if (text[i] !== '"') throw new Error(`string expected at ${i}`);
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) throw new Error('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        const k = str();
        if (seen.has(k)) dupes.push(`${path}${k}`);
        seen.add(k);
        ws();
        if (text[i++] !== ':') throw new Error(`':' expected at ${i - 1}`);
        value(`${path}${k}.`);
        ws();
        const sep = text[i++];
        if (sep === '}') return;
        if (sep !== ',') throw new Error(`',' or '}' expected at ${i - 1}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(path);
        ws();
        const sep = text[i++];
        if (sep === ']') return;
        if (sep !== ',') throw new Error(`',' or ']' expected at ${i - 1}`);
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) throw new Error(`value expected at ${i}`);
    i += m[0].length;
  };
  value('');
  ws();
  if (i !== text.length) throw new Error(`trailing text at ${i}`);
  return dupes;
}
