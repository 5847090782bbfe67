// The server as the attacker, end to end: a folder display name, a subject, a sender's name and a MessageText made
// of what XML 1.0 can carry and a terminal acts on (8-bit CSI U+009B, an OSC 52 clipboard write between U+009D and
// U+009C, NEL, bidi overrides and isolates). NDJSON keeps the text whole but writes those characters as \u escapes;
// stderr shows it readable, without them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCli } from '../support/cli.js';
import { envFor, parseLines, withSim } from './helpers.js';

const HOSTILE = 'Pay\u009b31mRED\u009b0m \u009b2J\u009d52;c;ZXZpbA==\u009c \u202eevil\u202c \u2066x\u2069 \u0085done';
/** What a terminal would act on: C0 (but newline), DEL, C1, bidi controls, line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('hostile server text, end to end', { concurrency: 2 }, () => {
  it('a folder name, subject and sender full of C1 controls and bidi overrides: escaped in NDJSON, cleaned in warnings', async () => {
    await withSim({}, async (sim) => {
      sim.createFolder(HOSTILE);
      // Every folder of the first pass is "gone", with a hostile MessageText: the warning names each folder.
      sim.script('SyncFolderItems', ...Array.from({ length: 40 }, () => ({ error: 'ErrorSyncFolderNotFound', message: HOSTILE })));
      const run = startCli(['--json', '--all-folders', '--details', '--events', 'Moved', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      const mail = sim.deliverMail({ subject: HOSTILE, from: { name: HOSTILE, address: 'evil@example.com' } }).item!;
      sim.moveItem(mail.id, HOSTILE);
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, RAW);
      assert.doesNotMatch(r.stderr, RAW);
      // Machines get the text whole.
      const [moved] = parseLines(r.stdout);
      assert.deepEqual([moved?.event, moved?.folder, moved?.subject, (moved?.from as { name?: string })?.name], ['Moved', HOSTILE, HOSTILE, HOSTILE]);
      assert.ok(r.stdout.includes('"folder":"Pay\\u009b31mRED\\u009b0m \\u009b2J\\u009d52;c;ZXZpbA==\\u009c \\u202eevil\\u202c \\u2066x\\u2069 \\u0085done"'), r.stdout);
      // People get it readable, without what a terminal would act on.
      const warnings = r.stderr.trimEnd().split('\n');
      assert.ok(warnings.includes('ews-watch: warning: PayRED  evil x done no longer exists (ErrorSyncFolderNotFound); no longer catching up on it'), r.stderr);
      assert.ok(warnings.every((l) => /^ews-watch: warning: .+ no longer exists \(ErrorSyncFolderNotFound\); no longer catching up on it$/.test(l)), r.stderr);
    });
  });

  it('a MessageText full of C1 controls and bidi overrides in a fatal error: one readable line, none of them', async () => {
    await withSim({}, async (sim) => {
      sim.script('Subscribe', { error: 'ErrorAccessDenied', message: HOSTILE });
      const r = await startCli(['--json'], { env: envFor(sim) }).result();
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, RAW);
      assert.match(r.stderr, /^ews-watch: ErrorAccessDenied: Pay ?31mRED ?0m ?2J ?52;c;ZXZpbA== ?evil ?x ?done\. The account has no rights[^\n]*\n$/);
    });
  });
});
