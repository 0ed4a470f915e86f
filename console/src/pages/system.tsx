import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { linkTone } from '../lib.js';
import { can, useWho } from '../session.js';
import {
  Async,
  Badge,
  EmptyState,
  formatDuration,
  formatTime,
  PageHeader,
  useApi,
  usePbxLinks,
} from '../ui.js';

interface SystemInfo {
  version: string;
  publicUrl: string;
  dataDir: string;
  store: { kind: string; ready: boolean };
  lastEventSeq: number;
  uptimeSeconds: number;
  modules: string[];
  kinds: string[];
}

interface ApiKey {
  id: string;
  name: string;
  createdAt?: string;
  lastUsedAt?: string | null;
  revokedAt?: string | null;
  prefix?: string;
}

interface Device {
  id: string;
  name: string;
  address: string;
}

export function SystemPage() {
  const sys = useApi<SystemInfo>('/api/system');
  useWho();
  const mayKeys = can('keys:manage');
  const keys = useApi<{ keys: ApiKey[] }>(mayKeys ? '/api/keys' : null, {}, [mayKeys]);
  const pbxs = useApi<{ devices: Device[] }>('/api/devices', { query: { kind: 'ipoffice' } });
  const links = usePbxLinks((pbxs.data?.devices ?? []).map((p) => p.id));
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [err, setErr] = useState<string | null>(null);

  const create = async (e: Event) => {
    e.preventDefault();
    setErr(null);
    try {
      const k = await api<{ key: string; name: string }>('/api/keys', {
        method: 'POST',
        body: { name: name.trim() },
      });
      setCreated({ name: k.name, key: k.key });
      setName('');
      keys.reload();
    } catch (e2) {
      setErr((e2 as Error).message);
    }
  };
  const revoke = async (k: ApiKey) => {
    if (!confirm(`Revoke the API key "${k.name}"? Programs using it stop working.`)) return;
    try {
      await api(`/api/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
      keys.reload();
    } catch (e2) {
      setErr((e2 as Error).message);
    }
  };

  return (
    <>
      <PageHeader title="System" description="Hub version, store, PBX links and API keys." />
      <div class="grid-2">
        <section class="card" aria-labelledby="sys-hub">
          <h2 id="sys-hub">Hub</h2>
          <Async value={sys} what="system information">
            {(s) => (
              <dl class="dl">
                <dt>Version</dt>
                <dd>{s.version}</dd>
                <dt>Public URL</dt>
                <dd class="mono">{s.publicUrl}</dd>
                <dt>Store</dt>
                <dd>
                  {s.store.kind}{' '}
                  <Badge tone={s.store.ready ? 'ok' : 'bad'}>{s.store.ready ? 'ready' : 'not ready'}</Badge>
                </dd>
                <dt>Data directory</dt>
                <dd class="mono">{s.dataDir}</dd>
                <dt>Uptime</dt>
                <dd>{formatDuration(s.uptimeSeconds)}</dd>
                <dt>Events stored</dt>
                <dd>{s.lastEventSeq}</dd>
                <dt>Modules</dt>
                <dd>{s.modules.length ? s.modules.join(', ') : 'none'}</dd>
                <dt>Device kinds</dt>
                <dd>{s.kinds.length ? s.kinds.join(', ') : 'none'}</dd>
              </dl>
            )}
          </Async>
        </section>
        <section class="card" aria-labelledby="sys-pbx">
          <h2 id="sys-pbx">PBX links</h2>
          <Async value={pbxs} what="PBXs">
            {(d) =>
              d.devices.length === 0 ? (
                <EmptyState title="No IP Office configured" />
              ) : (
                <ul class="list">
                  {d.devices.map((p) => {
                    const l = links[p.id];
                    return (
                      <li key={p.id}>
                        {p.name || p.id} <span class="mono muted">{p.address}</span>{' '}
                        <Badge tone={linkTone(l?.state)}>
                          {l ? `link ${l.state}` : 'link state unknown'}
                        </Badge>
                      </li>
                    );
                  })}
                </ul>
              )
            }
          </Async>
        </section>
        {mayKeys && (
          <section class="card span-2" aria-labelledby="sys-keys">
            <h2 id="sys-keys">API keys</h2>
            <form class="filters" onSubmit={create}>
              <div class="field grow">
                <label for="key-name">New key name</label>
                <input
                  id="key-name"
                  required
                  maxLength={100}
                  value={name}
                  onInput={(e) => setName(e.currentTarget.value)}
                />
              </div>
              <div class="form-actions">
                <button type="submit" class="btn btn-primary" disabled={!name.trim()}>
                  Create key
                </button>
              </div>
            </form>
            {created && (
              <p class="note" role="status">
                Key <strong>{created.name}</strong> (shown once):{' '}
                <code class="mono select-all">{created.key}</code>
              </p>
            )}
            {err && (
              <p class="form-error" role="alert">
                {err}
              </p>
            )}
            <Async value={keys} what="API keys">
              {(d) => (
                <div class="table-wrap">
                  <table class="table">
                    <thead>
                      <tr>
                        <th scope="col">Name</th>
                        <th scope="col">Id</th>
                        <th scope="col">Created</th>
                        <th scope="col">Last used</th>
                        <th scope="col">
                          <span class="sr-only">Actions</span>
                        </th>
                      </tr>
                    </thead>
                    <tbody>
                      {d.keys.map((k) => (
                        <tr key={k.id}>
                          <td>
                            {k.name} {k.revokedAt && <Badge tone="bad">revoked</Badge>}
                          </td>
                          <td class="mono">{k.prefix ?? k.id}</td>
                          <td>{formatTime(k.createdAt)}</td>
                          <td>{formatTime(k.lastUsedAt)}</td>
                          <td>
                            {!k.revokedAt && (
                              <button
                                type="button"
                                class="btn btn-quiet"
                                onClick={() => revoke(k)}
                                aria-label={`Revoke key ${k.name}`}
                              >
                                Revoke
                              </button>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </Async>
          </section>
        )}
      </div>
    </>
  );
}
