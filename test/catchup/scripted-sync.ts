// A SyncFolderItems for catch-up tests: answers from a list of pages (or throws the Error in its place), one per
// call, and remembers the SyncState each call was made with.

import type { SyncClient } from '../../src/ews/client.js';
import type { SyncItemsPage } from '../../src/ews/sync.js';

export function scriptedSync(pages: (SyncItemsPage | Error)[]): SyncClient & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    async syncFolderItems(o) {
      asked.push(o.syncState);
      const next = pages.shift();
      if (!next) throw new Error('no more scripted pages');
      if (next instanceof Error) throw next;
      return next;
    },
  };
}
