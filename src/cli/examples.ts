import type { Command } from 'commander';

/**
 * Examples for `switchboard <command> --help` of the commands registered without their own, by command
 * path. `addExamples` attaches them once every module has registered (main.ts); test/cli/help.test.ts
 * checks that every leaf command has an example, its own or from here.
 */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  serve: [
    'switchboard serve -c /etc/switchboard/switchboard.yaml',
    'switchboard serve -p 8080 --host 0.0.0.0 -d /var/lib/switchboard',
    'SWITCHBOARD_HTTP_PORT=9000 switchboard serve',
  ],
  demo: ['switchboard demo', 'switchboard demo -p 9000 --keep', 'switchboard demo --no-sims'],
  'keys create': [
    'switchboard keys create --name ops',
    'switchboard keys create -n console -c switchboard.yaml',
  ],
  'keys list': ['switchboard keys list', 'switchboard keys list -d /var/lib/switchboard'],
  'keys revoke': ['switchboard keys revoke ab12cd34', 'switchboard keys revoke sbk_ab12cd34'],
  'users create': ['switchboard users create --name desk1   # asks for the password twice'],
  'users list': ['switchboard users list'],
  'users disable': ['switchboard users disable desk1   # revokes its sessions'],
  'users passwd': ['switchboard users passwd desk1'],
  'users role': ['switchboard users role desk1 operator'],
  'devices list': [
    'switchboard devices list',
    'switchboard devices list --kind cisco --group security',
    'switchboard devices list --json',
  ],
  'devices add': [
    'switchboard devices add --kind cisco --id lobby --address 10.1.2.3 --group security --set model=8845 --set username=push --set password=secret --room Lobby',
    'switchboard devices add --kind ipoffice --id ipo1 --address 10.0.0.5:50797 --set user=devlink --set password=secret',
    'switchboard devices add --kind avaya --id desk-214 --address 10.1.2.40 --set-file tls.ca=phone-ca.pem',
  ],
  'devices rm': ['switchboard devices rm lobby'],
  'sim cpaas call': ['switchboard sim cpaas call -u http://127.0.0.1:8080/AC…/call.xml --from +15551230000'],
  'sim cpaas sms': ['switchboard sim cpaas sms -u http://127.0.0.1:8080/AC…/SMS -b "hello"'],
  'sim cpaas serve': ['switchboard sim cpaas serve -a AC… -p 8099'],
  'cisco text': [
    'switchboard cisco text lobby "Fire drill at 3 pm"',
    'switchboard cisco text lobby Building closes at 6 pm   # the words are joined',
  ],
  'cisco execute': [
    'switchboard cisco execute lobby Key:Info',
    'switchboard cisco execute lobby Init:Services Key:Services',
  ],
  'cisco push': [
    'switchboard cisco push 10.1.2.3 -u push -P secret --text "Hello" --title Test',
    'switchboard cisco push 10.1.2.3 --uri Key:Info',
  ],
  'cisco info': [
    'switchboard cisco info 10.1.2.3 -u push -P secret',
    'switchboard cisco info 10.1.2.3 --page PortInformation -n 1',
  ],
  'cisco screenshot': ['switchboard cisco screenshot 10.1.2.3 -u push -P secret -o screen.png'],
  'cisco models': ['switchboard cisco models'],
  'pubsub accounts list': ['switchboard pubsub accounts list', 'switchboard pubsub accounts list --json'],
  'pubsub accounts rotate': ['switchboard pubsub accounts rotate AC0123456789abcdef0123456789abcdef'],
  'pubsub accounts delete': ['switchboard pubsub accounts delete AC0123456789abcdef0123456789abcdef'],
  'broadcast cancel': ['switchboard broadcast cancel b_01HX…   # phones not served yet get nothing'],
  'broadcast recall': [
    'switchboard broadcast recall b_01HX…   # also clears the message from phones showing it',
  ],
  'broadcast retry': ['switchboard broadcast retry b_01HX…   # re-sends to the phones that failed'],
  'schedules add': [
    'switchboard schedules add --id bells --cron "0 8,15 * * mon-fri" --tz America/Chicago --group classrooms --text "Bell"',
    'switchboard schedules add --at 2026-12-24T16:00:00Z --all --text "Building closes in one hour"',
  ],
  'schedules list': ['switchboard schedules list', 'switchboard schedules list --json'],
  'schedules pause': ['switchboard schedules pause bells'],
  'schedules resume': ['switchboard schedules resume bells'],
  'schedules delete': ['switchboard schedules delete bells'],
  'broadcast send': [
    'switchboard broadcast send --group security --title Drill --text "Fire drill at 3 pm" --ack',
    'switchboard broadcast send --all --priority urgent --text "Building closes at 6 pm"   # every phone',
    'switchboard broadcast send --template lockdown --var building=North --group staff --no-wait',
    '(exit code 3 when a phone failed)',
  ],
  'broadcast status': [
    'switchboard broadcast status bc_… --watch',
    'switchboard broadcast status bc_… --json',
  ],
  'broadcast list': ['switchboard broadcast list --limit 50'],
  'locations import': ['switchboard locations import locations.csv'],
  'locations list': ['switchboard locations list', 'switchboard locations list --json'],
  'incidents list': ['switchboard incidents list', 'switchboard incidents list --real-only --limit 100'],
  'store migrate': [
    'systemctl stop switchboard',
    'switchboard store migrate --from /var/lib/switchboard --to postgres://switchboard@db1/switchboard',
    'switchboard store migrate --from backup.db --to-file /etc/switchboard/store-url --force --json',
  ],
  'incidents export': [
    'switchboard incidents export > incidents.csv',
    'switchboard incidents export --real-only > compliance.csv',
  ],
};

/** `Example(s):` help text for a leaf command's `--help`. */
export function examplesText(lines: readonly string[]): string {
  return `\n${lines.length > 1 ? 'Examples' : 'Example'}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/** Adds EXAMPLES to the commands of `program` they name (paths without the program name). */
export function addExamples(program: Command): void {
  const walk = (c: Command, path: string[]) => {
    for (const s of c.commands) {
      const here = [...path, s.name()];
      const lines = EXAMPLES[here.join(' ')];
      if (lines) s.addHelpText('after', examplesText(lines));
      walk(s, here);
    }
  };
  walk(program, []);
}
