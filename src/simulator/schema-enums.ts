// Enumerations from the EWS schema (types.xsd) that the simulator checks requests against, as Exchange does. Pure data.

import type { SimEventType } from './types.js';

export const EVENT_TYPE_NAMES: readonly SimEventType[] = [
  'CopiedEvent',
  'CreatedEvent',
  'DeletedEvent',
  'ModifiedEvent',
  'MovedEvent',
  'NewMailEvent',
  'FreeBusyChangedEvent',
];

/** ExchangeVersionType, oldest first; Exchange 2016/2019 also accept the V2017+ values. */
export const SERVER_VERSIONS: readonly string[] = [
  'Exchange2007',
  'Exchange2007_SP1',
  'Exchange2009',
  'Exchange2010',
  'Exchange2010_SP1',
  'Exchange2010_SP2',
  'Exchange2012',
  'Exchange2013',
  'Exchange2013_SP1',
  'Exchange2015',
  'Exchange2016',
  'V2015_10_05',
  'V2016_01_06',
  'V2016_04_13',
  'V2016_07_13',
  'V2016_10_10',
  'V2017_04_14',
  'V2017_07_11',
];

/** Streaming notifications need Exchange2010_SP1 or later (protocol-notes.md §1.1). */
export function supportsStreaming(version: string): boolean {
  return SERVER_VERSIONS.indexOf(version) >= SERVER_VERSIONS.indexOf('Exchange2010_SP1');
}

/** DistinguishedFolderIdNameType. */
export const DISTINGUISHED_FOLDER_NAMES: readonly string[] = (
  'calendar contacts deleteditems drafts inbox journal notes outbox sentitems tasks msgfolderroot publicfoldersroot root ' +
  'junkemail searchfolders voicemail recoverableitemsroot recoverableitemsdeletions recoverableitemsversions ' +
  'recoverableitemspurges recoverableitemsdiscoveryholds archiveroot archivemsgfolderroot archivedeleteditems archiveinbox ' +
  'archiverecoverableitemsroot archiverecoverableitemsdeletions archiverecoverableitemsversions archiverecoverableitemspurges ' +
  'archiverecoverableitemsdiscoveryholds syncissues conflicts localfailures serverfailures recipientcache quickcontacts ' +
  'conversationhistory adminauditlogs todosearch mycontacts directory imcontactlist peopleconnect favorites mecontact ' +
  'personmetadata teamspaceactivity teamspacemessaging teamspaceworkitems scheduled orionnotes tagitems alltaggeditems ' +
  'externalcontacts teamchat yammerroot'
).split(' ');
