/**
 * The parameter names the linter knows, for `SETTINGS_UNKNOWN_PARAMETER` (a misspelt name is ignored by
 * the phone without a word: `DNSSRVER` for `DNSSRVR`).
 *
 * - `SEED_PARAMETERS`: every parameter seed 002 names (its sample files and its text).
 * - `DESKPHONE_PARAMETERS`: the push parameters of the research notes and the common 96x1/J100
 *   parameters of Avaya's administration guides. Inferred: not exhaustive — a name missing here is
 *   reported as `info`, and only a near miss of a known name (a likely typo) as a `warning`.
 */

export const SEED_PARAMETERS: readonly string[] = [
  'APPCAST_CHECK_INTERVAL',
  'APPCAST_ENABLED',
  'APPCAST_URL',
  'AUDIO_DEVICE_CALL_CONTROL_ENABLED',
  'AUTO_ANSWER',
  'AUTO_AWAY_TIME',
  'AVAYA_CLOUD_ACCOUNTS_URI',
  'CALL_DECLINE_POLICY',
  'CELLULAR_DIRECT_ENABLED',
  'CELLULAR_DIRECT_NUMBER_LIST',
  'CONFERENCE_FACTORY_URI',
  'CONTACT_MATCHING_MIN_DIGITS',
  'COUNTRY',
  'DISCOVER_AVAYA_ENVIRONMENT',
  'DND_SAC_LINK',
  'DSCPAUD',
  'DSCPSIG',
  'DSCPVID',
  'DTMF_PAYLOAD_TYPE',
  'ENABLE_AVAYA_CLOUD_ACCOUNT',
  'ENABLE_AVAYA_CLOUD_ACCOUNTS',
  'ENABLE_AVAYA_ENVIRONMENT',
  'ENABLE_BROWSER_EXTENSION',
  'ENABLE_G711A',
  'ENABLE_G711U',
  'ENABLE_G722',
  'ENABLE_G726',
  'ENABLE_G729',
  'ENABLE_IM',
  'ENABLE_IPOFFICE',
  'ENABLE_IPO_CALL_LOG',
  'ENABLE_IPO_PORTAL_MESSAGING',
  'ENABLE_IPO_PORTAL_MESSAGING_PUSH',
  'ENABLE_OPUS',
  'ENABLE_OUTLOOK_ADDON',
  'ENABLE_PPM',
  'ENCRYPT_SRTCP',
  'ENFORCE_SIPS_URI',
  'ENHDIALSTAT',
  'EWSSSO',
  'FQDN_IP_MAP',
  'HTTPPORT',
  'IPO_ADHOC_CONFERENCE_NAME',
  'IPO_CALL_HANDOVER_ENABLED',
  'IPO_CALL_RECORDING_ENABLED',
  'IPO_CONFERENCE_CONTROLS_ENABLED',
  'IPO_CONTACTS_ENABLED',
  'IPO_OTHER_PHONE_MODE_ENABLED',
  'IPO_PRESENCE_ENABLED',
  'IPO_SHARE_CONTROLLED_SOFTPHONE_ENABLED',
  'ISO_SYSTEM_LANGUAGE',
  'MEDIAENCRYPTION',
  'MEDIA_ADDR_MODE',
  'MTCTISSO',
  'OBSCURE_PREFERENCES',
  'OUTLOOK_CALL_CONTACT',
  'POUND_KEY_AS_CALL_TRIGGER',
  'PSTN_VM_NUM',
  'PUSH_NOTIFICATION_ENABLED',
  'RTP_PORT_LOW',
  'RTP_PORT_RANGE',
  'SDPCAPNEG',
  'SELF_AVATAR_ENABLED',
  'SETTINGS_CHECK_INTERVAL',
  'SETTINGS_FILE_URL',
  'SIGNALING_ADDR_MODE',
  'SIMULTANEOUS_REGISTRATIONS',
  'SIPDOMAIN',
  'SIPENABLED',
  'SIPREGPROXYPOLICY',
  'SIPSSO',
  'SIP_CONTROLLER_LIST',
  'SSOENABLED',
  'SUBSCRIBE_LIST_NON_AVAYA',
  'TELEPHONY_PUSH_NOTIFICATION_SERVICE_URL',
  'TLSSRVRID',
  'TLS_VERSION',
  'TRUSTCERTS',
  'USBLOGINSTAT',
  'VOIPCALLINGENABLED',
  'WINDOWS_IMPROVIDER',
];

export const DESKPHONE_PARAMETERS: readonly string[] = [
  // Push (research notes, avaya-push.md §6)
  'TPSLIST',
  'SUBSCRIBELIST',
  'PUSHCAP',
  'PUSHPORT',
  // Keys and variables settable in files
  'PHONEKEY',
  'GROUP',
  'SIG',
  'APPNAME',
  // Servers and network
  '3PCC_SERVER_MODE',
  'CONFIG_SERVER',
  'CONFIG_SERVER_SECURE_MODE',
  'DNSSRVR',
  'DOMAIN',
  'HTTPDIR',
  'HTTPEXCEPTIONDOMAINS',
  'HTTPPROXY',
  'HTTPSRVR',
  'TLSDIR',
  'TLSPORT',
  'TLSSRVR',
  'TFTPSRVR',
  'TFTPDIR',
  'SNTPSRVR',
  'LOGSRVR',
  'SNMPADD',
  'SNMPSTRING',
  'MCIPADD',
  'IPV6STAT',
  'DHCPSTD',
  'STATIC',
  'REUSETIME',
  'ICMPDU',
  'ICMPRED',
  'LLDP_ENABLED',
  'L2Q',
  'L2QAUD',
  'L2QSIG',
  'L2QVLAN',
  'VLANTEST',
  'VLANSEPMODE',
  'PHY1STAT',
  'PHY2STAT',
  'PHY2PRIO',
  'PHY2VLAN',
  'PHY2_AUTOMDIX_ENABLED',
  'DOT1X',
  'DOT1XSTAT',
  'DOT1XEAPS',
  // SIP
  'SIPPORT',
  'SIP_PORT_SECURE',
  'SIPSIGNAL',
  'SIPPROXYSRVR',
  'SIPCONFERENCECONTINUE',
  'FAILBACK_POLICY',
  'CONTROLLER_SEARCH_INTERVAL',
  'FAST_RESPONSE_TIMEOUT',
  'REGISTERWAIT',
  'RECOVERYREGISTERWAIT',
  'WAIT_FOR_REGISTRATION_TIMER',
  'WAIT_FOR_UNREGISTRATION_TIMER',
  'OUTBOUND_SUBSCRIPTION_REQUEST_DURATION',
  'SUBSCRIBE_SECURITY',
  'SEND_DTMF_TYPE',
  'ENABLE_EARLY_MEDIA',
  'ENABLE_PRESENCE',
  'DISPLAY_NAME_NUMBER',
  'MWISRVR',
  'MSGNUM',
  'AUTH',
  // Certificates
  'MYCERTCAID',
  'MYCERTCN',
  'MYCERTDN',
  'MYCERTKEYLEN',
  'MYCERTRENEW',
  'MYCERTURL',
  'MYCERTWAIT',
  'SCEPPASSWORD',
  // Dialling
  'DIALPLAN',
  'INTER_DIGIT_TIMEOUT',
  'NO_DIGITS_TIMEOUT',
  'LOCAL_DIAL_AREA_CODE',
  'PHNCC',
  'PHNDPLENGTH',
  'PHNEMERGNUM',
  'PHNIC',
  'PHNLD',
  'PHNLDLENGTH',
  'PHNMOREEMERGNUMS',
  'PHNOL',
  'ENABLE_REMOVE_PSTN_ACCESS_PREFIX',
  'ENABLE_SHOW_EMERG_SK',
  'ENABLE_SHOW_EMERG_SK_UNREG',
  // Time
  'GMTOFFSET',
  'DSTOFFSET',
  'DSTSTART',
  'DSTSTOP',
  'DAYLIGHT_SAVING_SETTING_MODE',
  'TIMEFORMAT',
  'DATEFORMAT',
  // Phone features and local procedures
  'ADMIN_PASSWORD',
  'PROCPSWD',
  'PROCSTAT',
  'SSH_ALLOWED',
  'SSH_IDLE_TIMEOUT',
  'ENABLE_PHONE_LOCK',
  'PHONE_LOCK_IDLETIME',
  'ENABLE_CONTACTS',
  'CALLFWDSTAT',
  'CALLFWDADDR',
  'CALLFWDDELAY',
  'CLDELCALLBK',
  'CNGLABEL',
  'OPSTAT',
  'APPSTAT',
  'USBPOWER',
  'SPEAKERSTAT',
  'CTISTAT',
  'CTIUDPPORT',
  'SCREENSAVERON',
  'BAKLIGHTOFF',
  'RINGTONES',
  'RINGTONESTYLE',
  'EXTEND_RINGTONE',
  'LANGUAGES',
  'LANGSYS',
  'LANGLARGEFONT',
  'LANG0STAT',
  'USE_EXCHANGE_CALENDAR',
  // Audio
  'AGCHAND',
  'AGCHEAD',
  'AGCSPKR',
  'AUDASYS',
  'AUDIOENV',
  'AUDIOSTHD',
  'AUDIOSTHS',
  'HEADSYS',
  // RTCP and QoS monitoring
  'RTCPCONT',
  'RTCPMON',
  'RTCPMONPERIOD',
  'RTCPMONPORT',
  // Browser and push content
  'BRAUTH',
  'BRURI',
  'WMLEXCEPT',
  'WMLHOME',
  'WMLIDLETIME',
  'WMLIDLEURI',
  'WMLPORT',
  'WMLPROXY',
  'WMLSMALLSCREEN',
];

const KNOWN = new Set<string>([...SEED_PARAMETERS, ...DESKPHONE_PARAMETERS]);

export function isKnownParameter(name: string): boolean {
  return KNOWN.has(name);
}

/** Edit distance (insert, delete, substitute), capped: returns `cap + 1` once it exceeds `cap`. */
export function editDistance(a: string, b: string, cap = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > cap) return cap + 1;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The known name nearest to `name` (compared upper case, `-` read as `_`), with its distance; undefined
 * when nothing is within half the name's length.
 */
export function nearestParameter(name: string): { name: string; distance: number } | undefined {
  const n = name.toUpperCase().replace(/-/g, '_');
  let best: { name: string; distance: number } | undefined;
  const cap = Math.max(1, Math.floor(n.length / 2));
  for (const k of KNOWN) {
    const d = editDistance(n, k, best ? Math.min(best.distance, cap) : cap);
    if (d <= cap && (!best || d < best.distance)) best = { name: k, distance: d };
  }
  return best;
}
