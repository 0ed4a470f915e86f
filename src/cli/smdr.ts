import type { Command } from 'commander';
import type { SmdrLine, SmdrRecord } from '../drivers/ipoffice/smdr.js';
import { action } from './run.js';

/** One readable line per record (the `--json` form is the full record). */
function row(r: SmdrRecord): string {
  const dir = r.direction === 'inbound' ? 'in ' : r.direction === 'outbound' ? 'out' : '?  ';
  const p = (d: SmdrRecord['party1']) => `${d.raw}${d.name ? ` (${d.name})` : ''}`;
  return `${r.callStart.replace('T', ' ')}  ${r.callId.padEnd(10)} ${r.continuation ? '+' : ' '} ${dir} ${(r.caller.raw || '-').padEnd(16)} -> ${(r.called.raw || '-').padEnd(14)} ${p(r.party1)} / ${p(r.party2)}  ring ${r.ringSeconds}s talk ${r.connectedSeconds}s${r.holdSeconds ? ` hold ${r.holdSeconds}s` : ''}${r.parkSeconds ? ` park ${r.parkSeconds}s` : ''}`;
}

/** JSON of one line: the record (or the error) and where it was. */
function json(l: SmdrLine): string {
  if (l.kind === 'record') return JSON.stringify({ line: l.line, record: l.record });
  if (l.kind === 'header') return JSON.stringify({ line: l.line, header: l.text });
  return JSON.stringify({
    line: l.line,
    error: { code: l.error.code, message: l.error.message, field: l.error.field },
    text: l.text,
  });
}

function intOption(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name}: ${v} is not an integer in ${min}–${max}`);
  return n;
}

export function registerSmdrCommands(program: Command): void {
  const smdr = program
    .command('smdr')
    .description('IP Office SMDR call-detail records: read captured files, or listen for records live');

  smdr
    .command('parse <file>')
    .description('Read a captured SMDR file (CR LF or LF, header line or not) and print its records')
    .option('--json', 'one JSON object per line: {line, record} or {line, error}')
    .option('--max-line-bytes <n>', 'longest accepted line', '4096')
    .addHelpText(
      'after',
      '\nExit status 1 when a line is not a record (each is reported on stderr, or as {error} with --json).\n\nExamples:\n  switchboard smdr parse smdr-2026-11-30.txt\n  switchboard smdr parse smdr.csv --json | jq -c \'select(.record.dialled.number == "911")\'\n',
    )
    .action(
      action(async (file: string, o: { json?: boolean; maxLineBytes: string }) => {
        const [{ readFileSync }, { parseSmdrFile }] = await Promise.all([
          import('node:fs'),
          import('../drivers/ipoffice/smdr.js'),
        ]);
        const lines = parseSmdrFile(readFileSync(file), {
          maxLineBytes: intOption(o.maxLineBytes, '--max-line-bytes', 64, 1 << 20),
        });
        let bad = 0;
        const out: string[] = [];
        for (const l of lines) {
          if (l.kind === 'invalid') bad++;
          if (o.json) out.push(json(l));
          else if (l.kind === 'record') out.push(row(l.record));
          else if (l.kind === 'invalid') process.stderr.write(`${file}:${l.line}: ${l.error.message}\n`);
        }
        if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
        if (bad > 0) process.exitCode = 1;
      }),
    );

  smdr
    .command('tail')
    .description(
      'Listen for IP Office SMDR records (point System → SMDR at this machine) and print them live',
    )
    .requiredOption('--port <port>', 'TCP port to listen on (the IP Office SMDR "TCP Port")')
    .option('--host <host>', 'interface to listen on', '0.0.0.0')
    .option('--allow <address...>', 'only these peer addresses may send (default: any)')
    .option('--json', 'one JSON object per record')
    .option('--max-line-bytes <n>', 'longest accepted line', '4096')
    .option('--max-connections <n>', 'simultaneous connections', '4')
    .option('--rate <n>', 'records per second before reading pauses', '200')
    .addHelpText(
      'after',
      '\nExamples:\n  switchboard smdr tail --port 5150 --allow 10.0.0.5\n  switchboard sim ipoffice --port 0 --scenario emergency --smdr 127.0.0.1:5150 &  switchboard smdr tail --host 127.0.0.1 --port 5150 --json\n',
    )
    .action(
      action(
        async (o: {
          port: string;
          host: string;
          allow?: string[];
          json?: boolean;
          maxLineBytes: string;
          maxConnections: string;
          rate: string;
        }) => {
          const { SmdrListener } = await import('../drivers/ipoffice/smdr-listener.js');
          const l = new SmdrListener({
            host: o.host,
            port: intOption(o.port, '--port', 0, 65535),
            maxLineBytes: intOption(o.maxLineBytes, '--max-line-bytes', 64, 1 << 20),
            maxConnections: intOption(o.maxConnections, '--max-connections', 1, 1024),
            maxRecordsPerSecond: intOption(o.rate, '--rate', 1, 100_000),
            ...(o.allow ? { allowFrom: o.allow } : {}),
            onLine: (line, meta) => {
              if (o.json)
                process.stdout.write(`${json(line).slice(0, -1)},"from":${JSON.stringify(meta.remote)}}\n`);
              else if (line.kind === 'record') process.stdout.write(`${row(line.record)}\n`);
              else if (line.kind === 'invalid')
                process.stderr.write(`${meta.remote}: not a record: ${line.error.message}\n`);
            },
            onProblem: (what, remote) => process.stderr.write(`${remote}: ${what}\n`),
          });
          const port = await l.start();
          process.stderr.write(`listening for SMDR on ${o.host}:${port}\n`);
          const stop = () => void l.stop().then(() => process.exit(0));
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        },
      ),
    );
}
