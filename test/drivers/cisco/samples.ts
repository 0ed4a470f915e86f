/** Representative parameters per action (everything else takes no parameters). */
export const SAMPLE_PARAMS: Record<string, Record<string, unknown>> = {
  push_execute: { priority: 1, uri: 'http://10.0.0.5/alert.xml' },
  object_menu: { title: 'T', prompt: 'P', items: [{ name: 'N', url: 'http://x/y' }] },
  object_text: { prompt: 'P', text: 'Hello' },
  object_input: {
    title: 'T',
    url: 'http://x/in',
    method: 'post',
    items: [{ display_name: 'D', query_string_param: 'q', default_value: 'v', input_flags: 'A' }],
  },
  object_directory: { title: 'T', entries: [{ name: 'Alice', telephone: '1000' }] },
  object_image: { title: 'T', location_x: -1, location_y: -1, width: 4, height: 2, depth: 2, data: 'FF00' },
  object_image_file: { title: 'T', location_x: 0, location_y: 0, url: 'http://x/i.png' },
  object_graphic_menu: {
    window_mode: 'Normal',
    title: 'T',
    prompt: 'P',
    width: 4,
    height: 2,
    depth: 1,
    data: '0F0F',
    items: [{ name: 'N', url: 'http://x/1' }],
  },
  object_graphic_file_menu: {
    window_mode: 'Wide',
    title: 'T',
    prompt: 'P',
    url: 'http://x/m.png',
    items: [{ name: 'N', url: 'http://x/1', touch_area: { x1: 0, y1: 0, x2: 10, y2: 10 } }],
  },
  object_icon_menu: {
    title: 'T',
    items: [{ name: 'N', url: 'http://x/1', icon_index: 0 }],
    icons: [{ index: 0, width: 4, height: 2, depth: 2, data: 'AAAA' }],
    softkeys: [{ name: 'Select', url: 'SoftKey:Select', position: 1 }],
  },
  object_icon_file_menu: {
    title: 'T',
    items: [{ name: 'N', url: 'http://x/1', icon_index: 1 }],
    icons: [{ index: 1, url: 'Resource:Icon.Connected' }],
  },
  object_status_push: { text: 'Alert', timer: 30, width: 4, height: 1, depth: 2, data: 'AA' },
  object_status_file_push: { text: 'Alert', timer: 30, url: 'http://x/s.png' },
  object_error: { number: 4 },
  key_feature: { n: 120 },
  key_fixed_feature: { n: 3 },
  key_keypad_digit: { n: 7 },
  key_line: { n: 2 },
  key_session: { n: 6 },
  key_soft: { n: 2 },
  display_off: { interval: 60 },
  display_on: { interval: 10 },
  dial: { dialSequence: '1000', useAppUI: true, applicationId: 'Acme/Alert', audibleFeedback: false },
  edit_dial: { n: '1000' },
  send_digits: { dtmfSequence: '12#', audibleFeedback: true, applicationId: 'Acme/App' },
  play_audio: { filename: 'Classic2.raw' },
  rtp_rx_start: { i: '10.0.0.9', p: 20480, v: 50, s: 1 },
  rtp_tx_start: { i: '10.0.0.9', p: 20482 },
  rtp_mrx: { i: '239.1.1.1', p: 32768, v: 100, s: 0 },
  rtp_mtx: { i: '239.1.1.1', p: 24000 },
  start_media: {
    type: 'audio',
    codec: 'G.722',
    mode: 'receiveOnly',
    ip: '10.0.0.9',
    port: 24000,
    notifyURI: 'http://hub/cisco/events/media',
    volume: 80,
  },
  stop_media: { streamId: 'abc123' },
  app_request_focus: { priority: 0, idleTimer: 60, applicationId: 'Acme/App' },
  app_release_focus: { priority: 1, idleTimer: 10, applicationId: 'Acme/App' },
  app_minimize: { priority: 2, idleTimer: 86400, applicationId: 'Acme/App' },
  app_close: { priority: 0, idleTimer: 120, applicationId: 'Acme/App' },
  notify: {
    protocol: 'http',
    host: '10.0.0.2',
    port: 8080,
    path: '/cisco/notify',
    credentials: 'dXNlcjpwYXNz',
    data: 'alert=1',
  },
  query_string_param: { data: 'x=1' },
  settings_menu_open: { menuname: 'Network settings' },
  settings_key_digit: { n: 4 },
  resource_icon: { iconName: 'AnimatedIcon.Throbber' },
  get_device_caps: { transport: 'http' },
  query_port_information: { n: 1 },
  query_port_information_xml: { n: 2 },
  query_device_log: { n: 0 },
  query_device_log_xml: { n: 2 },
  query_streaming_statistics: { n: 1 },
  query_streaming_statistics_xml: { n: 3 },
};

/** The model whose profile supports an action (most run on the 8845). */
export function modelFor(id: string): string {
  if (['key_offhook', 'key_onhook', 'key_ptt', 'device_generate_prt', 'device_prt_status'].includes(id))
    return '8821';
  if (id.startsWith('settings_')) return '8875';
  if (id === 'key_fixed_feature') return '9841';
  return '8845';
}

/** Reduces XML to its element/attribute skeleton: no prolog, no whitespace between tags, values → `...`. */
export function skeleton(xml: string): string {
  return xml
    .replace(/^HTTP POST \/CGI\/Execute\n/, '')
    .replace(/<\?xml[^>]*\?>/, '')
    .replace(/>\s+</g, '><')
    .replace(/="[^"]*"/g, '="..."')
    .replace(/>([^<]+)</g, '>...<')
    .trim();
}
