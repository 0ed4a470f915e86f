/**
 * One CSV cell for an export (RFC 4180 quoting), with spreadsheet formulas neutralised: a value starting
 * with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'` so a spreadsheet shows it instead of running it.
 */
export function csvCell(v: unknown): string {
  const t = v === null || v === undefined ? '' : String(v);
  const safe = /^[=+\-@\t\r]/.test(t) ? `'${t}` : t;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Rows (the first is the header) as CSV text with CR LF line ends. */
export function csvText(rows: unknown[][]): string {
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;
}
