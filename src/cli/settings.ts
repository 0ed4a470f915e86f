import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../core/errors.js';
import { type DecodedSettings, decodeSettingsBytes } from '../provisioning/encoding.js';
import {
  canonicalModel,
  type EvalInputs,
  type EvalResult,
  evaluateSettings,
  type FileResolver,
  parseVariableAssignments,
} from '../provisioning/evaluate.js';
import { lintRemovals, lintSettings } from '../provisioning/lint.js';
import { DEFAULT_PARSE_LIMITS, type Diagnostic } from '../provisioning/syntax.js';
import { type ApiFlags, apiClientOptions, callApi } from './common.js';
import { action, type ConfigFlags, withConfigOptions } from './run.js';

/**
 * `switchboard settings …`: evaluate, lint and generate 46xxsettings files. `lint` and `eval` import
 * only the pure provisioning codecs (and the HTTP client for URLs), so that they start fast; `generate`
 * loads the configuration and the generator when it runs.
 */

const MAX_BYTES = DEFAULT_PARSE_LIMITS.maxBytes;
const DEFAULT_UA = 'Avaya Switchboard-CLI';

class SettingsCliError extends ValidationError {}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

function checkText(buf: Buffer, where: string): DecodedSettings {
  if (buf.length > MAX_BYTES)
    throw new SettingsCliError(
      'SETTINGS_FILE_TOO_LARGE',
      `${where}: larger than ${MAX_BYTES} bytes; not a settings file`,
    );
  return decodeSettingsBytes(buf, where);
}

async function readLocal(path: string): Promise<DecodedSettings> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new SettingsCliError('SETTINGS_FILE_UNREADABLE', `${path}: cannot read (${e.code ?? e.message})`);
  });
  if (!st.isFile()) throw new SettingsCliError('SETTINGS_FILE_UNREADABLE', `${path}: not a regular file`);
  if (st.size > MAX_BYTES)
    throw new SettingsCliError(
      'SETTINGS_FILE_TOO_LARGE',
      `${path}: ${st.size} bytes; larger than ${MAX_BYTES}`,
    );
  return checkText(await readFile(path), path);
}

async function fetchText(url: string, ua: string): Promise<DecodedSettings | undefined> {
  const { httpRequest } = await import('../net/http-client.js');
  const res = await httpRequest({
    url,
    headers: { 'user-agent': ua },
    timeoutMs: 10_000,
    maxResponseBytes: MAX_BYTES,
  });
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw new SettingsCliError('SETTINGS_FETCH_FAILED', `${url}: HTTP ${res.status}`);
  return checkText(res.body, url);
}

/**
 * Loads the first file and builds a resolver for the files it GETs (same directory or same URL path).
 * A GET'd file is decoded like the first one (UTF-8, else Windows-1252); one that cannot be read as a
 * settings file (missing, NUL bytes, too large) is "not obtained", as for the phone.
 */
export async function openSource(
  src: string,
  ua: string,
): Promise<{ name: string; text: string; encoding: DecodedSettings['encoding']; resolve: FileResolver }> {
  if (isUrl(src)) {
    const first = await fetchText(src, ua);
    if (first === undefined) throw new SettingsCliError('SETTINGS_FETCH_FAILED', `${src}: HTTP 404`);
    const name = basename(new URL(src).pathname) || '46xxsettings.txt';
    return {
      name,
      text: first.text,
      encoding: first.encoding,
      resolve: async (n) =>
        /^[^/\\]+$/.test(n) ? (await fetchText(new URL(n, src).toString(), ua))?.text : undefined,
    };
  }
  const first = await readLocal(src);
  const dir = dirname(src);
  return {
    name: basename(src),
    text: first.text,
    encoding: first.encoding,
    resolve: async (n) => {
      if (!/^[^/\\]+$/.test(n)) return undefined;
      try {
        return (await readLocal(join(dir, n))).text;
      } catch {
        return undefined;
      }
    },
  };
}

function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}${d.line ? `:${d.line}` : ''}: ${d.severity} ${d.code}: ${d.message}`;
}

export function formatEval(r: EvalResult, trace: boolean): string {
  const out: string[] = [];
  const width = Math.min(40, Math.max(0, ...r.settings.map((s) => s.name.length)));
  for (const s of r.settings) {
    // A repeatable parameter (PHONEKEY) prints one line per entry.
    for (const e of s.entries ?? [s]) {
      const line = `${s.name.padEnd(width)} ${JSON.stringify(e.value)}`;
      const replaced = s.entries ? [] : s.history;
      out.push(
        trace
          ? `${line}  (${e.file}:${e.line}${replaced.length ? `, replaced ${replaced.map((h) => `${h.file}:${h.line}`).join(', ')}` : ''})`
          : line,
      );
    }
  }
  if (trace) {
    out.push('', 'path:');
    for (const t of r.trace) {
      if (t.kind === 'set' || t.kind === 'add') continue;
      out.push(`  ${t.file}:${t.line} ${t.kind} ${t.detail}`);
    }
    if (r.traceTruncated) out.push('  … (trace truncated)');
    out.push(`end: ${r.end}`);
  }
  return `${out.join('\n')}\n`;
}

interface EvalFlags {
  model?: string;
  var: string[];
  group?: string;
  sig?: string;
  mac?: string;
  fullModel?: string;
  vpn?: string;
  ua?: string;
  trace?: boolean;
  json?: boolean;
  gotoScope?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** The client's variables from the flags: --model (any case), the shortcuts, then every --var. */
function inputsFrom(o: {
  model?: string;
  group?: string;
  sig?: string;
  mac?: string;
  fullModel?: string;
  vpn?: string;
  var?: string[];
}): EvalInputs {
  const vars = parseVariableAssignments(o.var ?? [], '--var');
  if (o.model === undefined && vars.MODEL4 === undefined) {
    throw new SettingsCliError('SETTINGS_BAD_OPTION', 'required option --model <MODEL4> (or --var MODEL4=…)');
  }
  const inputs: EvalInputs = { MODEL4: o.model === undefined ? '' : canonicalModel(o.model, '--model') };
  if (o.group !== undefined) inputs.GROUP = o.group;
  if (o.sig !== undefined) inputs.SIG_IN_USE = o.sig;
  if (o.mac !== undefined) inputs.MACADDR = o.mac;
  if (o.fullModel !== undefined) inputs.MODEL = o.fullModel;
  if (o.vpn !== undefined) inputs.VPNACTIVE = o.vpn;
  return { ...inputs, ...vars, MODEL4: vars.MODEL4 ?? inputs.MODEL4 };
}

const VAR_HELP =
  'a variable as the phone reports it, repeatable: SIG=2, HWVERS=…, APPNAME=…, SHA2CAPABLE=1, PHONECC=…, or any parameter (names any case)';

export function registerSettingsCommands(program: Command): void {
  const settings = program
    .command('settings')
    .description('Evaluate, lint and generate 46xxsettings.txt files (Avaya phones and Workplace clients)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  switchboard settings eval 46xxsettings.txt --model J179 --group 3 --trace\n' +
        '  switchboard settings eval http://10.0.0.2:8080/46xxsettings.txt --model aci\n' +
        '  switchboard settings lint 46xxspecials.txt\n' +
        '  switchboard settings generate -c switchboard.yaml --model acw\n',
    );

  settings
    .command('eval <fileOrUrl>')
    .description('Run a settings file as a phone/client would and print the effective settings')
    .option(
      '-m, --model <MODEL4>',
      'client model, any case: J179, J139, 9611, 9641, aca (Android), aci (iOS), acm (macOS), acw (Windows)',
    )
    .option('--var <NAME=VALUE>', VAR_HELP, collect, [])
    .option('-g, --group <n>', 'GROUP value (default 0)')
    .option('--sig <SIP|H323>', 'SIG_IN_USE (default SIP)')
    .option('--mac <macaddr>', 'MACADDR (used in values and GET names)')
    .option('--full-model <MODEL>', 'MODEL (default: --model)')
    .option('--vpn <0|1>', 'VPNACTIVE (default 0)')
    .option('--ua <user-agent>', `User-Agent for http(s) sources (default "${DEFAULT_UA}")`)
    .option('--trace', 'show where each setting came from and the path taken')
    .option('--json', 'print the full result as JSON')
    .option('--goto-scope <forward|file>', 'GOTO searches forward (phones, default) or the whole file')
    .addHelpText(
      'after',
      '\nGET lines are resolved next to the file (same directory, or same URL path).\nExit status: 0 evaluated, 1 the file could not be read or is not a settings file.\n\nExamples:\n  switchboard settings eval ./46xxsettings.txt --model aci --trace\n  switchboard settings eval http://127.0.0.1:8080/46xxsettings.txt --model J179 --group 2 --ua "Avaya J179"\n',
    )
    .action(
      action(async (src: string, o: EvalFlags) => {
        const ua = o.ua ?? DEFAULT_UA;
        const first = await openSource(src, ua);
        const inputs = inputsFrom(o);
        if (o.gotoScope !== undefined && o.gotoScope !== 'forward' && o.gotoScope !== 'file') {
          throw new SettingsCliError('SETTINGS_BAD_OPTION', '--goto-scope must be forward or file');
        }
        const r = await evaluateSettings({ name: first.name, text: first.text }, inputs, first.resolve, {
          gotoScope: (o.gotoScope as 'forward' | 'file' | undefined) ?? 'forward',
        });
        if (o.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        process.stdout.write(formatEval(r, o.trace === true));
        for (const d of r.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`);
      }),
    );

  settings
    .command('lint <file>')
    .description(
      'Check a settings file: unknown statements, unreachable tags, GOTO to missing tags, duplicate SETs, unquoted values, curly quotes, over-long values',
    )
    .option(
      '--previous <file>',
      'the previous version: warn about settings Workplace clients keep after removal',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExit status: 0 no errors (warnings allowed), 1 errors found or the file could not be read.\n\nExamples:\n  switchboard settings lint 46xxspecials.txt\n  switchboard settings lint new/46xxsettings.txt --previous old/46xxsettings.txt\n',
    )
    .action(
      action(async (file: string, o: { previous?: string; json?: boolean }) => {
        const { text, encoding } = await readLocal(file);
        const r = lintSettings({ name: basename(file), text, encoding });
        if (o.previous) {
          const prev = await readLocal(o.previous);
          const extra = await lintRemovals(
            { name: basename(file), text: prev.text },
            { name: basename(file), text },
          );
          r.diagnostics.push(...extra);
          r.warnings += extra.length;
        }
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          for (const d of r.diagnostics) process.stdout.write(`${formatDiagnostic(d)}\n`);
          process.stdout.write(`${r.file}: ${r.errors} error(s), ${r.warnings} warning(s)\n`);
        }
        if (r.errors > 0) process.exitCode = 1;
      }),
    );

  withConfigOptions(
    settings
      .command('generate')
      .description(
        'Print the auto-generated file the hub would serve (or, with --model, the effective settings for that client)',
      )
      .option('-f, --file <name>', '46xxsettings.txt or 46xxspecials.txt', '46xxsettings.txt')
      .option('--ua <user-agent>', 'User-Agent of the client (selects provisioning.userAgentRules)', '')
      .option(
        '-m, --model <MODEL4>',
        'evaluate for this client and print its effective settings instead of the file',
      )
      .option('-g, --group <n>', 'GROUP value with --model')
      .option('--var <NAME=VALUE>', `with --model: ${VAR_HELP}`, collect, [])
      .option('--sig <SIP|H323>', 'SIG_IN_USE with --model')
      .option('--trace', 'with --model: show file and line of each setting')
      .option(
        '--public-url <url>',
        'hub URL phones use (default: http.publicUrl or http://<this host>:<http.port>)',
      ),
  )
    .addHelpText(
      'after',
      '\nStatic files in the settings directory are not consulted: this prints what is generated.\n\nExamples:\n  switchboard settings generate -c switchboard.yaml\n  switchboard settings generate -f 46xxspecials.txt\n  switchboard settings generate --model aci --trace --ua "Avaya Communicator/3.36 (iOS)"\n',
    )
    .action(
      action(
        async (
          o: ConfigFlags & {
            file: string;
            ua: string;
            model?: string;
            group?: string;
            sig?: string;
            trace?: boolean;
            publicUrl?: string;
            var: string[];
          },
        ) => {
          const [{ configFromFlags }, autogen, { defaultHost }, { VERSION }] = await Promise.all([
            import('./common.js'),
            import('../provisioning/autogen.js'),
            import('../server/compose.js'),
            import('../version.js'),
          ]);
          const { compileRules, generateSettingsFile, generateSpecialsFile, matchRule } = autogen;
          const config = configFromFlags(o);
          const publicUrl =
            (o.publicUrl ?? config.http.publicUrl) || `http://${defaultHost()}:${config.http.port}`;
          const hub = { publicUrl: publicUrl.replace(/\/+$/, ''), version: VERSION };
          const cfg = config.provisioning;
          const rule = matchRule(compileRules(cfg).rules, o.ua)?.rule;
          const gen = (name: string) =>
            name === '46xxsettings.txt'
              ? generateSettingsFile(cfg, { hub, rule })
              : name === '46xxspecials.txt'
                ? generateSpecialsFile(cfg, { hub, rule })
                : undefined;
          const text = gen(o.file);
          if (text === undefined)
            throw new SettingsCliError(
              'SETTINGS_BAD_OPTION',
              '--file must be 46xxsettings.txt or 46xxspecials.txt',
            );
          if (!o.model) {
            process.stdout.write(text);
            return;
          }
          const inputs = inputsFrom(o);
          const r = await evaluateSettings({ name: o.file, text }, inputs, gen);
          process.stdout.write(formatEval(r, o.trace === true));
        },
      ),
    );

  registerSpacesProfileCommand(settings);
}

/**
 * `switchboard settings spaces-profile`: the Spaces Calling profile JSON (seed 002) of the hub's IP Office
 * devices (through the API), or `--validate <file>` to check a profile offline (docs/spaces-profile.md).
 */
function registerSpacesProfileCommand(settings: Command): void {
  apiClientOptions(
    settings
      .command('spaces-profile')
      .description(
        'Print the Spaces Calling profile JSON (IP_Office_Server_Profile, seed 002) for the IP Office devices, or validate one',
      )
      .option('--device <id>', 'only these IP Office devices (repeatable; default: all)', collect, [])
      .option('--no-accounts-token', 'AccountsToken false (no SSO login)')
      .option('--log-download <true|false>', 'LogDownload')
      .option('--auto-failover <true|false>', 'AutoFailover')
      .option('--stun-host <host>', 'STUNHost')
      .option('--stun-port <port>', 'STUNPort (the standard STUN port is 3478)')
      .option('--validate <file>', 'check a profile JSON file instead (no hub needed); exit 1 on errors')
      .option('--json', 'print the JSON and its validation as one JSON object'),
  )
    .addHelpText(
      'after',
      '\nPaste the output into Avaya Cloud Services: Apps, Avaya Spaces Calling Extension, JSON. Problems go to stderr with the seed rule they break; exit status 1 when there are errors.\n\nExamples:\n  switchboard settings spaces-profile --stun-host asbce.example.com --stun-port 3478 > profile.json\n  switchboard settings spaces-profile --device ipo-east --device ipo-west\n  switchboard settings spaces-profile --validate profile.json\n',
    )
    .action(
      action(async (o: SpacesFlags) => {
        const { validateSpacesProfile } = await import('../provisioning/spaces-profile.js');
        type Problem = { severity: string; path: string; line?: number; message: string; code: string };
        const report = (problems: Problem[], where: string) => {
          for (const p of problems)
            process.stderr.write(
              `${where}${p.line ? `:${p.line}` : ''}: ${p.severity}: ${p.path && !p.message.startsWith(`${p.path.split('.').pop()}:`) ? `${p.path}: ` : p.path.slice(0, p.path.lastIndexOf('.') + 1)}${p.message} [${p.code}]\n`,
            );
        };
        if (o.validate) {
          const st = await stat(o.validate).catch(() => undefined);
          if (!st?.isFile())
            throw new SettingsCliError('SETTINGS_FILE_UNREADABLE', `${o.validate}: not a readable file`);
          const { SPACES_TEXT_MAX } = await import('../provisioning/spaces-profile.js');
          if (st.size > SPACES_TEXT_MAX)
            throw new SettingsCliError(
              'SPACES_TOO_LARGE',
              `${o.validate}: larger than ${SPACES_TEXT_MAX} bytes`,
            );
          const v = validateSpacesProfile(await readFile(o.validate, 'utf8'));
          if (o.json) process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
          else {
            report(v.problems, o.validate);
            process.stdout.write(
              `${o.validate}: ${v.profiles.length} profile(s), ${v.ok ? 'valid' : 'not valid'}\n`,
            );
          }
          if (!v.ok) process.exitCode = 1;
          return;
        }
        const q = new URLSearchParams();
        if (o.device.length) q.set('devices', o.device.join(','));
        q.set('accountsToken', String(o.accountsToken !== false));
        if (o.logDownload !== undefined) q.set('logDownload', boolFlag(o.logDownload, '--log-download'));
        if (o.autoFailover !== undefined) q.set('autoFailover', boolFlag(o.autoFailover, '--auto-failover'));
        if (o.stunHost) q.set('stunHost', o.stunHost);
        if (o.stunPort) q.set('stunPort', o.stunPort);
        const r = await callApi<{ json: string; validation: { ok: boolean; problems: Problem[] } }>(
          o,
          'GET',
          `/api/settings/spaces-profile?${q}`,
        );
        if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else {
          process.stdout.write(r.json);
          report(r.validation.problems, 'profile');
        }
        if (!r.validation.ok) process.exitCode = 1;
      }),
    );
}

interface SpacesFlags extends ApiFlags {
  device: string[];
  accountsToken?: boolean;
  logDownload?: string;
  autoFailover?: string;
  stunHost?: string;
  stunPort?: string;
  validate?: string;
  json?: boolean;
}

function boolFlag(v: string, flag: string): string {
  if (v !== 'true' && v !== 'false')
    throw new SettingsCliError('SETTINGS_BAD_OPTION', `${flag} must be true or false`);
  return v;
}
