/** Enumerations of the Delta3 records (seed §6.7.3), by raw value. Unknown values keep their number. */

export const PARTY_STATE: Readonly<Record<number, string>> = {
  0: 'Idle',
  1: 'Ringing',
  2: 'Connected',
  3: 'Disconnecting',
  7: 'Dialling',
  8: 'Dialed',
  9: 'Dial Initiated',
  15: 'Offering',
  16: 'Overlap receive',
  17: 'Accept',
  18: 'ConnectRequest',
  19: 'Ringback',
  20: 'OGConnect Request',
  21: 'IC Disconnecting',
  22: 'Seized',
  23: 'Completed',
  24: 'Completed Tone',
  25: 'Preserved',
};

export const TONE: Readonly<Record<number, string>> = {
  0: 'none',
  1: 'holdmusic',
  2: 'ringback',
  3: 'dialtone',
  6: 'busy',
};

export const EQUIPMENT_CLASS: Readonly<Record<number, string>> = {
  1: 'Unknown',
  2: 'ISDNTrunk',
  3: 'AlogTrunk',
  4: 'H323Trunk',
  5: 'SIPTrunk',
  6: 'T1Trunk',
  7: 'R2Trunk',
  8: 'TDMPhone',
  9: 'H323Phone',
  10: 'SIPDevice',
  11: 'DECTPhone',
  12: 'Voicemail',
  13: 'WAVDriver',
  14: 'Router',
  15: 'DTEPort',
  16: 'Parkslot',
  17: 'Conference',
  18: 'PagingConference',
  19: 'RecordingHandler',
  20: 'S0Trunk',
  21: 'MobilePhone',
  22: 'GhostHandler',
  23: 'IPONotificationHandler',
  24: 'Alarm call',
  25: 'VoiceScreening',
  26: 'ConferenceRecorder',
  27: 'Outdialer',
  28: 'WebRTCPhone',
  29: 'ListenOrCoach',
  30: 'ConferenceMeetMe',
};

/** Equipment classes that are trunks (public or private lines). */
export const TRUNK_CLASSES: ReadonlySet<number> = new Set([2, 3, 4, 5, 6, 7, 20]);
/** Equipment classes that are handsets/phones. */
export const PHONE_CLASSES: ReadonlySet<number> = new Set([8, 9, 10, 11, 21, 28]);

/** Equipment types of special interest (seed: SIPDevice subtypes). */
export const EQUIPMENT_TYPE: Readonly<Record<number, string>> = { 162: 'ACCS', 163: 'IPOCC' };

export const CALLED_TYPE: Readonly<Record<number, string>> = {
  0: 'Unspecified',
  1: 'International',
  2: 'National',
  3: 'NetworkSpecific',
  4: 'Subscriber',
  100: 'Unspecified',
  101: 'Internal',
  102: 'Voicemail',
  103: 'ACD',
  104: 'Paging',
  105: 'Direct',
  106: 'Intrude',
  107: 'Priority',
  108: 'Pickup',
  109: 'CampOn',
  110: 'Steal',
  111: 'Whisper',
  112: 'Inclusionone',
  113: 'Coverage',
  114: 'EConf',
  115: 'EConfDial',
  116: 'Conf',
  117: 'EConfInvite',
  118: 'Restricted',
  119: 'Emergency',
  120: 'FNE',
  121: 'Identifier',
  122: 'Receiver',
  123: 'Reminder',
  124: 'Listen',
  125: 'RemoteDial',
  126: 'FaxCall',
  127: 'WakeupCall',
  129: 'LocalPhysExtn',
  130: 'XferToTwinMobile',
  131: 'Coach',
  132: 'WhisperPage',
  133: 'CallLog',
  134: 'ParkCall',
  135: 'UnParkCall',
  136: 'Precision',
  137: 'RequestSupervising',
  138: 'RParkCall',
  139: 'ACCSGroup',
  140: 'BlendingAcquireCall',
};
export const CALLED_TYPE_EMERGENCY = 119;

export const CLI_PRESENTATION: Readonly<Record<number, string>> = {
  0: 'Allowed',
  1: 'Withheld',
  2: 'Not available',
  100: 'Unspecified',
};

export const CALLING_NAME_TYPE: Readonly<Record<number, string>> = {
  0: 'default',
  1: 'directory match',
  2: 'explicitly set',
  4: 'restricted',
  5: 'internal user',
  6: 'huntgroup',
  8: 'conference',
  9: 'external trunk',
  12: 'voicemail callflow',
};

export const QUEUE_STATUS: Readonly<Record<number, string>> = {
  1: 'Queueing',
  3: 'Listening to announcement',
};

/** Party flags bit-field (seed §6.7.3). */
export interface PartyFlags {
  privacy: boolean;
  autoAnswered: boolean;
  autoRecorded: boolean;
  consentAnswered: boolean;
  consentRefused: boolean;
}
const FLAG_CACHE: Array<Readonly<PartyFlags>> = [];

/** Decodes the party flags bit-field. Results for values below 64 are shared frozen objects. */
export function decodeFlags(raw: number | undefined): Readonly<PartyFlags> {
  const v = raw ?? 0;
  if (v >= 0 && v < 64) {
    let f = FLAG_CACHE[v];
    if (!f) {
      f = Object.freeze(flagsOf(v));
      FLAG_CACHE[v] = f;
    }
    return f;
  }
  return flagsOf(v);
}

function flagsOf(v: number): PartyFlags {
  return {
    privacy: (v & 0x01) !== 0,
    autoAnswered: (v & 0x02) !== 0,
    autoRecorded: (v & 0x04) !== 0,
    consentAnswered: (v & 0x10) !== 0,
    consentRefused: (v & 0x20) !== 0,
  };
}

/** Clearing causes seen in CallLost (seed: 16 Normal, 126 Transfer; others from the CM cause list). */
export const CAUSE: Readonly<Record<number, string>> = {
  0: 'Unknown',
  1: 'UnallocatedNumber',
  2: 'ForceIdle',
  3: 'Unregister',
  16: 'Normal',
  17: 'Busy',
  18: 'NoUserResponding',
  21: 'CallRejected',
  31: 'NormalUnspecified',
  34: 'NoChannel',
  116: 'E911Emergency',
  117: 'Parked',
  121: 'Redirect',
  123: 'ForwardToVoicemail',
  124: 'AnsweredByOther',
  126: 'Transfer',
  127: 'ConferencingMove',
};

/** Delta2 call states (not the Delta3 party states). */
export const DELTA2_STATE: Readonly<Record<number, string>> = {
  0: 'Idle',
  1: 'Ringing',
  2: 'Connected',
  3: 'Disconnected',
  4: 'Suspending',
  5: 'Suspended',
  6: 'Resuming',
  7: 'Dialling',
  8: 'Dialled',
  9: 'Local Dial',
  10: 'Queued',
  11: 'Parked',
  12: 'Held',
  13: 'Redialling',
};

export function enumName(table: Readonly<Record<number, string>>, v: number | undefined): string | undefined {
  return v === undefined ? undefined : table[v];
}
