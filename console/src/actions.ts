// The phone page's actions by what they do: the control spec's actions (ids, labels, tags: seed 003 for Cisco,
// the Avaya Push API spec) grouped into tasks and labelled in words instead of XML object and URI names.
// Pure (no DOM); unit-tested in test/console/actions.test.ts.

export interface SpecAction {
  id: string;
  label?: string;
  kind: 'action' | 'query';
  tags?: string[];
}

export interface ActionGroup<A extends SpecAction = SpecAction> {
  id: string;
  label: string;
  actions: Array<{ action: A; label: string }>;
}

/** The groups in the order a phone page shows them (most used first). */
const GROUPS = [
  { id: 'screen', label: 'Show on the screen' },
  { id: 'clear', label: 'Clear the screen and close apps' },
  { id: 'audio', label: 'Sound and audio' },
  { id: 'call', label: 'Calls and dialling' },
  { id: 'keys', label: 'Press a key' },
  { id: 'settings', label: 'Settings menu' },
  { id: 'info', label: 'Phone information' },
  { id: 'maintenance', label: 'Maintenance' },
  { id: 'advanced', label: 'Advanced (raw protocol)' },
] as const;
type GroupId = (typeof GROUPS)[number]['id'];

/** Spec tags (Cisco: the URI family or XML object class) → group. */
const BY_TAG: Record<string, GroupId> = {
  Object: 'screen',
  Display: 'screen',
  Init: 'clear',
  App: 'clear',
  RTP: 'audio',
  Media: 'audio',
  Play: 'audio',
  Dial: 'call',
  EditDial: 'call',
  SendDigits: 'call',
  Key: 'keys',
  SoftKey: 'keys',
  SettingsMenu: 'settings',
  SettingsKey: 'settings',
  Button: 'settings',
  Info: 'info',
  Screenshot: 'info',
  Caps: 'info',
  Device: 'maintenance',
  Execute: 'advanced',
  Error: 'advanced',
  Notify: 'advanced',
  QueryStringParam: 'advanced',
  Resource: 'advanced',
};

/** Action ids whose words are chosen here (the rest are derived from the spec's label). */
const WORDS: Record<string, [GroupId, string]> = {
  // Cisco display objects (seed: CiscoIPPhone… Display Object)
  object_text: ['screen', 'Show a text message'],
  object_menu: ['screen', 'Show a menu'],
  object_input: ['screen', 'Show an input form'],
  object_directory: ['screen', 'Show a directory (names and numbers)'],
  object_image: ['screen', 'Show an image (sent with the message)'],
  object_image_file: ['screen', 'Show an image (PNG from a URL)'],
  object_graphic_menu: ['screen', 'Show a picture menu (sent with the message)'],
  object_graphic_file_menu: ['screen', 'Show a picture menu (PNG from a URL)'],
  object_icon_menu: ['screen', 'Show a menu with icons'],
  object_icon_file_menu: ['screen', 'Show a menu with icons (PNG from URLs)'],
  object_status_push: ['screen', 'Show a status line over the call screen'],
  object_status_file_push: ['screen', 'Show a status line with a picture (PNG from a URL)'],
  object_error: ['advanced', 'Answer with an error object'],
  display_off: ['screen', 'Turn the display off for a while'],
  display_on: ['screen', 'Turn the display on for a while'],
  display_default: ['screen', 'Return the display to normal'],
  init_app_status: ['clear', 'Clear the status line'],
  device_unlock: ['maintenance', 'Unlock the phone'],
  device_generate_prt: ['maintenance', 'Generate a problem report'],
  device_prt_status: ['info', 'Problem report status'],
  dial: ['call', 'Dial a number'],
  edit_dial: ['call', 'Put a number in the dial field'],
  send_digits: ['call', 'Send digits during a call (DTMF)'],
  play_audio: ['audio', 'Play a sound file'],
  rtp_rx_start: ['audio', 'Receive audio from one sender (start)'],
  rtp_rx_stop: ['audio', 'Stop receiving audio'],
  rtp_tx_start: ['audio', 'Send the microphone to one receiver (start)'],
  rtp_tx_stop: ['audio', 'Stop sending the microphone'],
  rtp_mrx: ['audio', 'Receive multicast audio (paging)'],
  rtp_mtx: ['audio', 'Send the microphone to a multicast group'],
  start_media: ['audio', 'Start a media stream'],
  stop_media: ['audio', 'Stop a media stream'],
  get_screenshot: ['info', 'Take a screenshot'],
  get_device_caps: ['info', 'What the phone can do (capabilities)'],
  push_execute: ['advanced', 'Run URIs (CiscoIPPhoneExecute)'],
  notify: ['advanced', 'Call an HTTP callback (Notify)'],
  // Avaya 96x1 / J100 (Push API)
  push_topline: ['screen', 'Show a one-line message (top line)'],
  push_display: ['screen', 'Show a full-screen page'],
  push_audio: ['audio', 'Play audio on this phone'],
  push_audio_multicast: ['audio', 'Play audio to many phones (multicast)'],
  push_audio_transmit: ['audio', 'Ask the phone to send its microphone'],
  push_audio_stop: ['audio', 'Stop audio on the phone'],
  push_subscribe: ['maintenance', 'Ask the phone to subscribe again'],
  push_phonexml: ['advanced', 'Push phone XML'],
};

const spaced = (s: string) =>
  s
    .replace(/\[(\d+)-(\d+)\]/g, ' ($1–$2)')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .replace(/\bDwn\b/, 'Down')
    .replace(/^Soft \(/, 'softkey (')
    .replace(/_/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Words for an action: chosen ones, or derived from the spec's label ("Key - Hold" → "Press Hold"). */
export function actionWords(a: SpecAction): string {
  const chosen = WORDS[a.id];
  if (chosen) return chosen[1];
  const label = a.label ?? a.id;
  let m = /^Key - (.+)$/.exec(label);
  if (m) return `Press ${spaced(m[1]!.replace(/ \/ .*$/, '').replace(/ \(.*\)$/, ''))}`;
  m = /^SoftKey - (.+?)(?: \((.+)\))?$/.exec(label);
  if (m) return `Softkey ${spaced(m[1]!)}${m[2] ? ` (${m[2]})` : ''}`;
  m = /^Init - \w+ \((.+)\)$/.exec(label);
  if (m) return sentence(m[1]!);
  m = /^Query - (.+) \((HTML|XML)\)$/.exec(label);
  if (m) return `${m[1]}${m[2] === 'HTML' ? ' (web page)' : ''}`;
  m = /^App - (.+)$/.exec(label);
  if (m) return `Application: ${spaced(m[1]!).toLowerCase()}`;
  m = /^Settings (?:Key|Button) - (?:Key_)?(.+)$/.exec(label);
  if (m) return `Settings menu: ${m[1]!.startsWith('[') ? 'key ' : ''}${spaced(m[1]!).toLowerCase()}`;
  m = /^SettingsMenu - (.+)$/.exec(label);
  if (m) return `Settings menu: ${m[1]!.toLowerCase()}`;
  return sentence(spaced(label));
}

function groupOf(a: SpecAction): GroupId {
  const chosen = WORDS[a.id];
  if (chosen) return chosen[0];
  for (const t of a.tags ?? []) {
    const g = BY_TAG[t];
    if (g) return g;
  }
  return a.kind === 'query' ? 'info' : 'advanced';
}

/** The spec's actions in groups (empty groups left out), each action with its words, sorted by them. */
export function groupActions<A extends SpecAction>(actions: A[]): ActionGroup<A>[] {
  const out: ActionGroup<A>[] = [];
  for (const g of GROUPS) {
    const items = actions
      .filter((a) => groupOf(a) === g.id)
      .map((action) => ({ action, label: actionWords(action) }));
    // Keep the spec's order inside a group (it lists the common ones first), keys in natural order.
    if (g.id === 'keys' || g.id === 'settings')
      items.sort((x, y) => x.label.localeCompare(y.label, undefined, { numeric: true }));
    if (items.length) out.push({ id: g.id, label: g.label, actions: items });
  }
  return out;
}
