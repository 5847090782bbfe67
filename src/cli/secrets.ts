// Where the password comes from: EWS_PASSWORD (environment or .env), --password-stdin, or a prompt when stdin
// is a terminal. There is no --password flag: argv is visible to every user of the machine.

import { UsageError } from '../errors.js';

const MAX_STDIN = 64 * 1024;

export async function readPasswordFromStdin(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += b.length;
    if (size > MAX_STDIN) throw new UsageError('--password-stdin: more than 64 KiB on standard input; expected one line with the password');
    chunks.push(b);
  }
  const first = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
  if (!first) throw new UsageError('--password-stdin: standard input was empty');
  return first;
}

/** What promptPassword rejects with when `signal` aborts (SIGINT or SIGTERM from outside): an orderly stop. */
export class PromptInterrupted extends Error {
  constructor() {
    super('interrupted at the password prompt');
    this.name = 'PromptInterrupted';
  }
}

/**
 * Asks on the terminal without echo. Ctrl-C typed here exits 130 at once, as a shell user expects (the terminal
 * is in raw mode, so it arrives as a byte, not as SIGINT); a signal from outside (`signal`) ends the prompt in order.
 */
export function promptPassword(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream, question: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new PromptInterrupted());
    let value = '';
    // Raw mode first, then the question: a Ctrl-C typed the moment the prompt shows must arrive as a byte here,
    // not as the terminal's SIGINT (which would be an orderly stop, not a cancelled prompt).
    stdin.setRawMode?.(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    stderr.write(question);
    const done = (err?: Error): void => {
      stdin.off('data', onData);
      signal?.removeEventListener('abort', onAbort);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = (): void => done(new PromptInterrupted());
    const onData = (data: string): void => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') {
          stderr.write('\n');
          process.exit(130);
        }
        if (ch === '\u0004') return done(new UsageError('no password given'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
