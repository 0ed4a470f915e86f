import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configKeys, defaultConfig } from '../../src/config/load.js';
import { startTestHub } from '../helpers/hub.js';
import { ROOT } from '../helpers/process.js';

/**
 * The service files (deploy/switchboard.service, Dockerfile, compose.yaml). No container engine runs
 * here: the Dockerfile and compose file are checked for structure, and the image's HEALTHCHECK command is
 * run for real against a hub. The unit file is also checked with `systemd-analyze verify` where systemd
 * is installed (it is a Debian package of its own: see docs/operations.md).
 */

const tmp = mkdtempSync(join(tmpdir(), 'sb-deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const GRACE_S = defaultConfig().shutdown.graceMs / 1000;
const ENV_NAMES = new Set([...configKeys().map((k) => k.env), 'SWITCHBOARD_CONFIG']);

/** `[Section]` → key → values (a key may repeat: Environment=). */
function parseUnit(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1]!;
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    expect(eq, `not key=value: ${line}`).toBeGreaterThan(0);
    expect(section, `key outside a section: ${line}`).not.toBe('');
    const sec = out[section]!;
    const k = line.slice(0, eq);
    sec[k] = [...(sec[k] ?? []), line.slice(eq + 1)];
  }
  return out;
}

function seconds(v: string): number {
  const m = /^(\d+)(s|min)?$/.exec(v);
  expect(m, `a duration: ${v}`).not.toBeNull();
  return Number(m![1]) * (m![2] === 'min' ? 60 : 1);
}

describe('deploy/switchboard.service', () => {
  const text = readFileSync(join(ROOT, 'deploy/switchboard.service'), 'utf8');
  const unit = parseUnit(text);
  const svc = unit.Service!;
  const one = (k: string) => {
    expect(svc[k], k).toHaveLength(1);
    return svc[k]![0]!;
  };

  it('runs as a dedicated user with a state directory, hardened, restarted on failure, stopped gracefully', () => {
    expect(one('User')).toBe('switchboard');
    expect(one('StateDirectory')).toBe('switchboard');
    expect(one('StateDirectoryMode')).toBe('0700');
    for (const [k, v] of Object.entries({
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      Restart: 'on-failure',
      KillSignal: 'SIGTERM',
    }))
      expect(one(k), k).toBe(v);
    // Node's JIT needs W+X memory: this option would crash the hub at start.
    expect(svc.MemoryDenyWriteExecute).toBeUndefined();
    expect(seconds(one('TimeoutStopSec'))).toBeGreaterThan(GRACE_S);
    expect(one('ExecStart')).toMatch(/\/switchboard serve$/);
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    // The data directory it points the hub at is the state directory, through real config variables.
    const env = Object.fromEntries(
      (svc.Environment ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    expect(env.SWITCHBOARD_DATA_DIR).toBe('/var/lib/switchboard');
    for (const name of Object.keys(env).filter((n) => n.startsWith('SWITCHBOARD_')))
      expect(ENV_NAMES.has(name), `${name} is a configuration variable`).toBe(true);
    expect(unit.Install?.WantedBy).toEqual(['multi-user.target']);
  });

  it('passes systemd-analyze verify (where the systemd package is installed; else the checks above are what ran)', () => {
    const analyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((p) => existsSync(p));
    if (!analyze) {
      // CI installs systemd (.ci/run) so that this check runs there.
      expect(process.env.CI, 'CI must run systemd-analyze verify (install systemd)').toBeUndefined();
      return;
    }
    // verify insists that ExecStart exists: point it at this checkout's built CLI through node.
    const file = join(tmp, 'switchboard.service');
    writeFileSync(
      file,
      text.replace(
        /^ExecStart=.*$/m,
        `ExecStart=${process.execPath} ${join(ROOT, 'dist/switchboard.mjs')} serve`,
      ),
    );
    const r = spawnSync(analyze, ['verify', file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr.trim(), 'systemd-analyze warnings').toBe('');
    expect(r.status).toBe(0);
  });
});

/** Dockerfile instructions (continuation lines joined), by stage. */
function dockerStages(text: string): Array<Array<{ op: string; args: string }>> {
  const joined = text.replace(/\\\n/g, ' ');
  const stages: Array<Array<{ op: string; args: string }>> = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Z]+)\s+(.*)$/.exec(line);
    expect(m, `instruction: ${line}`).not.toBeNull();
    const [, op, args] = m!;
    if (op === 'FROM') stages.push([]);
    if (op === 'ARG' && stages.length === 0) continue;
    expect(stages.length, `${op} before FROM`).toBeGreaterThan(0);
    stages[stages.length - 1]!.push({ op: op!, args: args!.replace(/\s+/g, ' ') });
  }
  return stages;
}

describe('Dockerfile and compose.yaml (structure; no container engine here)', () => {
  const stages = dockerStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const last = stages[stages.length - 1]!;
  const args = (op: string) => last.filter((i) => i.op === op).map((i) => i.args);

  it('is multi-stage: built in one stage, the runtime stage only copies the installed package', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    expect(build[0]!.args).toMatch(/ AS build$/);
    const run = build
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join(' ');
    // The same path a site install takes (and test/deploy/install.test.ts runs): npm pack, then install it.
    expect(run).toContain('npm run build');
    expect(run).toContain('npm run build:console');
    expect(run).toMatch(/npm pack .*npm install --global --prefix \/opt\/switchboard/);
    expect(args('COPY')).toEqual(['--from=build /opt/switchboard /opt/switchboard']);
    expect(last.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args))).toBe(false);
    // The Node.js major the image uses is one package.json accepts.
    const engines = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }
    ).engines.node;
    expect(engines).toMatch(/^>=20\./);
  });

  it('runs as a non-root user with /data as a volume, the data directory, a /readyz health check and SIGTERM', () => {
    const user = args('USER');
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/);
    expect(args('VOLUME')).toEqual(['["/data"]']);
    expect(args('ENV').join(' ')).toMatch(/SWITCHBOARD_DATA_DIR=\/data\b/);
    expect(args('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(args('EXPOSE')).toEqual(['8080']);
    expect(args('ENTRYPOINT')).toEqual(['["switchboard"]']);
    expect(args('CMD')).toEqual(['["serve"]']);
    const hc = args('HEALTHCHECK');
    expect(hc).toHaveLength(1);
    expect(hc[0]).toContain('/readyz');
    for (const name of args('ENV')
      .join(' ')
      .match(/SWITCHBOARD_[A-Z_]+/g) ?? [])
      expect(ENV_NAMES.has(name), `${name} is a configuration variable`).toBe(true);
  });

  it('the HEALTHCHECK command answers 0 for a ready hub and 1 for none', async () => {
    const hc = args('HEALTHCHECK')[0]!;
    const cmd = JSON.parse(hc.slice(hc.indexOf('CMD ') + 4)) as string[];
    expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
    const hub = await startTestHub();
    try {
      // Asynchronously: the hub answering it runs in this process.
      const run = (port: number) =>
        new Promise<number | null>((resolve) => {
          const p = spawn(process.execPath, ['-e', cmd[2]!], {
            env: { ...process.env, SWITCHBOARD_HTTP_PORT: String(port) },
            stdio: 'ignore',
            timeout: 30_000,
          });
          p.on('exit', (code) => resolve(code));
        });
      expect(await run(hub.port)).toBe(0);
      await hub.close();
      expect(await run(hub.port)).toBe(1);
    } finally {
      await hub.close().catch(() => {});
    }
  });

  it('.dockerignore keeps local builds, dependencies and data out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', 'console/dist', 'data', '.git']) expect(ignored).toContain(p);
  });

  it('compose.yaml: the image with /data on a volume, the config read-only, a stop grace above shutdown.graceMs', () => {
    const doc = parseYaml(readFileSync(join(ROOT, 'compose.yaml'), 'utf8')) as {
      services: Record<string, Record<string, unknown>>;
      volumes: Record<string, unknown>;
    };
    const s = doc.services.switchboard!;
    expect(s.build).toBe('.');
    const volumes = s.volumes as string[];
    const data = volumes.find((v) => v.endsWith(':/data'));
    expect(data).toBeDefined();
    expect(Object.keys(doc.volumes)).toContain(data!.split(':')[0]);
    expect(volumes.some((v) => /:\/etc\/switchboard\/switchboard\.yaml:ro$/.test(v))).toBe(true);
    expect((s.environment as Record<string, string>).SWITCHBOARD_CONFIG).toBe(
      '/etc/switchboard/switchboard.yaml',
    );
    expect(seconds(String(s.stop_grace_period))).toBeGreaterThan(GRACE_S);
    expect(s.restart).toBe('unless-stopped');
  });
});
