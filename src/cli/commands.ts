/**
 * Which module of src/cli registers each top-level command, so that `switchboard <command>` imports only
 * that module (start-up of `settings lint` in tens of milliseconds, not seconds). A command missing here
 * still works: the CLI then loads every module (as for `--help` and `sim`, which several modules extend).
 * test/cli/commands.test.ts checks that each module registers the commands listed for it.
 */
export const COMMAND_MODULES: Readonly<Record<string, string>> = {
  serve: 'serve',
  demo: 'demo',
  keys: 'keys',
  users: 'users',
  devices: 'devices',
  devlink: 'ipoffice',
  push: 'avaya',
  settings: 'settings',
  cisco: 'cisco',
  pubsub: 'pubsub',
  broadcast: 'broadcast',
  locations: 'broadcast',
  incidents: 'broadcast',
  schedules: 'broadcast',
  smdr: 'smdr',
  backup: 'backup',
  restore: 'backup',
  rules: 'records',
  templates: 'records',
  groups: 'records',
  store: 'store',
  call: 'dial',
};
