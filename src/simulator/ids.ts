// Opaque identifiers shaped like Exchange's: item/folder ids that embed a mailbox GUID (AAMk…/AQMk…),
// change keys (CQAAABYAAA…/AQAAABYAAA…), subscription ids (length byte + backend FQDN + random bytes) and
// the X-BackEndOverrideCookie value. Only the shape is imitated; nothing parses them for logic, except that a
// notification's ChangeKey is the placeholder Exchange sends: the 4-byte type prefix alone (placeholderChangeKey).

import { randomBytes, randomUUID } from 'node:crypto';

export interface IdFactory {
  itemId(): string;
  folderId(): string;
  itemChangeKey(): string;
  folderChangeKey(): string;
  subscriptionId(): string;
  /** X-BackEndOverrideCookie value, e.g. EXSIM01.contoso.local~1941996295 */
  affinityCookie(): string;
  /** X-BackEndCookie value: <anchor>=<opaque> */
  backEndCookie(anchor: string): string;
  /** true when `id` is an item or folder id this factory made (it carries the mailbox GUID), deleted or not. */
  ownsId(id: string): boolean;
  readonly backendHost: string;
}

export function createIdFactory(backendHost = 'EXSIM01.contoso.local'): IdFactory {
  const mailboxGuid = Buffer.from(randomUUID(), 'ascii');
  // Entry ids carry: flags, the mailbox GUID as ASCII, a type marker, then store bytes.
  const entryId = (lead: number, marker: number[], randomLength: number): string =>
    Buffer.concat([
      Buffer.from([lead, 0x03, 0x24, 0x00]),
      mailboxGuid,
      Buffer.from([0x00, ...marker]),
      randomBytes(randomLength),
    ]).toString('base64');
  const changeKey = (lead: number): string =>
    Buffer.concat([Buffer.from([lead, 0, 0, 0, 0x16, 0, 0, 0]), randomBytes(20)]).toString('base64');
  return {
    backendHost,
    itemId: () => entryId(0x00, [0x46, 0x00, 0x00, 0x00, 0x00], 66),
    folderId: () => entryId(0x01, [0x2e, 0x00, 0x00, 0x03], 46),
    itemChangeKey: () => changeKey(0x09),
    folderChangeKey: () => changeKey(0x01),
    subscriptionId: () => {
      const host = Buffer.from(backendHost, 'ascii');
      return Buffer.concat([
        Buffer.from([host.length, 0x00]),
        host,
        Buffer.from([0x10, 0x00, 0x00, 0x00]),
        randomBytes(24),
        Buffer.from([0x10, 0x00, 0x00, 0x00]),
        randomBytes(16),
      ]).toString('base64');
    },
    affinityCookie: () => `${backendHost}~${randomBytes(4).readUInt32BE(0)}`,
    backEndCookie: (anchor) => `${anchor}=${randomBytes(60).toString('base64').replace(/[+/=]/g, '')}`,
    ownsId: (id) => {
      const bytes = Buffer.from(id, 'base64');
      return bytes.length > 4 + mailboxGuid.length && bytes.subarray(4, 4 + mailboxGuid.length).equals(mailboxGuid);
    },
  };
}

/**
 * What Exchange puts in a notification instead of the ChangeKey: its first 4 bytes (the object's type: `CQAAAA==`
 * for a message, `AQAAAA==` for a folder) and nothing else (protocol-notes.md §2.3; every sample shows it).
 */
export function placeholderChangeKey(changeKey: string): string {
  const prefix = Buffer.alloc(4);
  Buffer.from(changeKey, 'base64').copy(prefix, 0, 0, 4);
  return prefix.toString('base64');
}
