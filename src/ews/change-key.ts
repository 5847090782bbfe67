// Placeholder ChangeKeys. Pure.
//
// Exchange puts a 4-byte ChangeKey on every id in a notification: the object's type and nothing else
// (`CQAAAA==` a message, `DwAAAA==` a calendar item, `AQAAAA==`/`AgAAAA==` folders; protocol-notes.md §2.3 and §3:
// "notifications do not provide a ChangeKey"). A real ChangeKey (SyncFolderItems, GetItem) carries the change
// number after that prefix. A placeholder tells nothing about the item's version, so decoders drop it.

/** Bytes of the type prefix every ChangeKey starts with. */
const PREFIX_BYTES = 4;

/** Whether a ChangeKey is only the type prefix: valid base64 of at most 4 bytes (the empty string included). */
export function isPlaceholderChangeKey(changeKey: string): boolean {
  if (changeKey.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(changeKey)) return false;
  const padding = changeKey.endsWith('==') ? 2 : changeKey.endsWith('=') ? 1 : 0;
  return (changeKey.length / 4) * 3 - padding <= PREFIX_BYTES;
}

/** The ChangeKey as a decoder keeps it: undefined when absent or a placeholder. */
export function usableChangeKey(changeKey: string | undefined): string | undefined {
  return changeKey === undefined || isPlaceholderChangeKey(changeKey) ? undefined : changeKey;
}
