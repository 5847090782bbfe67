// The status line on stderr ("watching inbox · heartbeat 12 s ago"), drawn by ora, only when stderr is a TTY,
// not in CI, and not with --quiet. Lines written to stderr while it spins go through write(), which clears the
// spinner first so a status line never mixes with a message.

import ora, { type Ora } from 'ora';

export interface StatusLine {
  /** Sets the text; `{ago}` in it is replaced by the seconds since `since`, refreshed every second. */
  set(text: string, since?: number): void;
  /** Writes whole lines to stderr without tearing the spinner. */
  write(text: string): void;
  stop(): void;
}

export function createStatusLine(stream: NodeJS.WriteStream, enabled: boolean, now: () => number): StatusLine {
  if (!enabled) {
    return { set: () => undefined, write: (t) => void stream.write(t), stop: () => undefined };
  }
  const spinner: Ora = ora({ stream, isEnabled: true, discardStdin: false, hideCursor: true });
  let template = '';
  let since: number | undefined;
  const render = (): void => {
    spinner.text = since === undefined ? template : template.replace('{ago}', `${Math.max(0, Math.round((now() - since) / 1000))} s ago`);
  };
  const timer = setInterval(render, 1000);
  timer.unref();
  spinner.start();
  return {
    set(text, at) {
      template = text;
      since = at;
      render();
    },
    write(text) {
      spinner.clear();
      stream.write(text);
      spinner.render();
    },
    stop() {
      clearInterval(timer);
      spinner.stop();
    },
  };
}
