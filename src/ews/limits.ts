// How long an id, a ChangeKey or a TimeStamp may sanely be. Pure. Anything longer is a broken or hostile server:
// the decoders leave out what carries it (a stream event, a sync change) instead of printing, keeping and storing it.
//
// [MS-OXWSCORE] 2.2.4.25 (t:ItemIdType): "The maximum size of this attribute is 512 bytes after base64 encoding",
// said of both Id and ChangeKey; Microsoft's "EWS item identifier and your database" advises a 512-character
// column. Real ones are much shorter (ItemIds ~150 characters, FolderIds ~120, ChangeKeys 40 or the 8-character
// placeholder; protocol-notes.md §2.3). We allow twice the documented maximum. SubscriptionIds have no documented
// bound (xs:string); Exchange's are ~100 characters, gromox's 12: the same bound serves.

import type { EwsId } from './types.js';

/** ItemId, FolderId (Id attribute) and SubscriptionId: twice the documented 512. */
export const MAX_ID_CHARS = 1024;
/** ChangeKey: twice the documented 512. */
export const MAX_CHANGE_KEY_CHARS = 1024;
/** xs:dateTime is ~20 to ~35 characters (`2024-05-01T09:30:00.1234567+02:00`). */
export const MAX_TIMESTAMP_CHARS = 64;

/** What made a value absurd: which field (ItemId, ChangeKey, SubscriptionId, …) and its length in characters. */
export interface Absurdity {
  field: string;
  length: number;
}

/** The first absurd part of an Id/ChangeKey pair read from element `element` (ItemId, ParentFolderId, …). */
export function absurdId(element: string, id: string | undefined, changeKey: string | undefined): Absurdity | undefined {
  if (id !== undefined && id.length > MAX_ID_CHARS) return { field: element, length: id.length };
  if (changeKey !== undefined && changeKey.length > MAX_CHANGE_KEY_CHARS) return { field: `${element} ChangeKey`, length: changeKey.length };
  return undefined;
}

/** The same for an EwsId already read. */
export function absurdEwsId(element: string, id: EwsId | undefined): Absurdity | undefined {
  return id === undefined ? undefined : absurdId(element, id.id, id.changeKey);
}
