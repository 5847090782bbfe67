// The command line (README "Commands" and "Options"): the root command watches; `demo` watches the built-in simulated Exchange.
// Definitions only: actions are handed in, so tests can parse argv without running anything.

import { Command, Option } from 'commander';
import type { RawOptions } from './config.js';
import type { LiveFlags } from './check-live-command.js';

export interface ProgramActions {
  watch(opts: RawOptions & { envFile?: string }): Promise<void>;
  demo(opts: RawOptions & { printCredentials?: boolean }): Promise<void>;
  /** `login` / `logout`: the options of the subcommand merged with those given before it. */
  login(opts: CredentialOptions): Promise<void>;
  logout(opts: CredentialOptions): Promise<void>;
  /** `check`: the doctor (src/cli/check.ts); with --live, the live check (src/cli/check-live.ts). */
  check(opts: RawOptions & { envFile?: string } & LiveFlags): Promise<void>;
}

/** What `login` and `logout` take (src/cli/commands/login.ts, logout.ts). */
export interface CredentialOptions {
  url?: string;
  user?: string;
  auth?: string;
  passwordStdin?: boolean;
  keychain?: string;
  envFile?: string;
  tenant?: string;
  clientId?: string;
  authority?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The demo keeps its sync state in a temporary directory unless told otherwise. */
function addWatchOptions(cmd: Command, o: { demo?: boolean } = {}): Command {
  const stateDefault = o.demo ? 'a temporary directory, removed when the demo ends' : '$XDG_STATE_HOME/ews-watch';
  return cmd
    .option('--folder <name|id>', 'folder to watch: inbox, sentitems, calendar, … or a FolderId; repeatable or a comma list (default: inbox)', collect)
    .option('--all-folders', 'watch every folder of the mailbox (SubscribeToAllFolders)')
    .option('--events <list>', 'events to report: NewMail,Created,Deleted,Modified,Moved,Copied,FreeBusyChanged (default: all)')
    .addOption(new Option('--format <format>', 'output format: pretty or ndjson (default: pretty on a terminal, else ndjson)'))
    .option('--json', 'same as --format ndjson')
    .option('--max-events <n>', 'exit 0 after printing n events (events --from/--subject let through)')
    .option('--details', "fetch each item's subject, sender, recipients, size, … (GetItem) and print them")
    .option('--from <pattern>', 'print only mail from a matching sender (name or address): text, any case, or /regex/flags; repeatable; implies --details', collect)
    .option('--subject <pattern>', 'print only mail with a matching subject: text, any case, or /regex/flags; repeatable; implies --details', collect)
    .option('--timeout <duration>', 'stop after this long (e.g. 90s, 2m, 1h) and exit 124 when no event (or fewer than --max-events) matched')
    .option('--state-dir <dir>', `where sync states are kept for catching up after gaps and restarts (EWS_STATE_DIR; default: ${stateDefault})`)
    .option('--backfill', 'on a first run, report what is already in the folders (as catch-up events) instead of starting from now')
    .option('--since <when>', 'now: only what happens from the start of this run, for one-shot waits: nothing from before, not even what a saved state would catch up (gaps during the run are still caught up); uses no state directory, so it runs beside a watcher of the same mailbox')
    .option('--connection-timeout <minutes>', 'ConnectionTimeout of each GetStreamingEvents request, 1..30 (default 30)', undefined)
    .option('--heartbeat-timeout <seconds>', 'reconnect when nothing at all arrived for this long (default 90)', undefined)
    .addOption(new Option('--on <events>', 'the events the next --exec runs for (default: every event printed)'))
    .addOption(new Option('--exec <program> [args...]', "run a program for each event, without a shell: the event's JSON on stdin, EWS_* variables; its arguments run to the end of the line or to a lone ';'"))
    .option('--debounce <ms>', 'hooks: events for one item within this many ms of each other make one run (default 0: every event)')
    .option('--hook-timeout <duration>', 'hooks: stop a run and what it started after this long (SIGTERM, then SIGKILL; default 30s)')
    .option('--hook-concurrency <n>', 'hooks: runs at once, at most (default 4); runs for one item never overlap')
    .option('--color <when>', 'colour: auto, always or never (NO_COLOR and FORCE_COLOR are honoured)')
    .option('-v, --verbose', 'more on stderr: requests, headers (secrets redacted), reconnects')
    .option('-q, --quiet', 'less on stderr: errors only');
}

/** Where and as whom to connect: the root command's options, shared by `check`. */
function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx (EWS_URL); without it, autodiscover finds it from the address (cached a day), and --auth oauth means Exchange Online')
    .option('--autodiscover-allow <domains>', 'comma list of other domains autodiscover may follow a redirect to with your credentials (EWS_AUTODISCOVER_ALLOW)')
    .option('--user <name>', 'alice@contoso.com or CONTOSO\\alice (EWS_USER); the password comes from EWS_PASSWORD, --password-stdin, the keychain (ews-watch login) or a prompt')
    .option('--auth <kind>', 'auto, ntlm, basic, oauth or token (EWS_AUTH; default auto: NTLM, else Basic, as the server offers)')
    .option('--mailbox <smtp>', 'SMTP address of the mailbox to watch (EWS_MAILBOX; default: the user when it is an address, else found from the server after sign-in); repeatable or a comma list to watch many', collect)
    .option('--server-version <version>', 'RequestServerVersion to send (EWS_SERVER_VERSION; default: Exchange2013_SP1)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--tenant <id>', 'OAuth: the Entra tenant id or domain (EWS_TENANT_ID)')
    .option('--client-id <id>', 'OAuth: the application (client) id of the app registration (EWS_CLIENT_ID)')
    .option('--client-cert <pem>', 'OAuth app-only: PEM file with the private key and certificate (EWS_CLIENT_CERT); or a secret in EWS_CLIENT_SECRET')
    .addOption(new Option('--authority <url>', 'OAuth: another identity platform than https://login.microsoftonline.com/<tenant> (EWS_AUTHORITY)').hideHelp())
    .option('--ca-file <pem>', 'also trust the CA certificates in this PEM file, for servers with an internal CA (EWS_CA_FILE)')
    .option('--insecure', 'do not verify the server certificate (warned about on every start; prefer --ca-file)')
    .option('--env-file <path>', 'read variables from this file instead of ./.env');
}

/** Watching many mailboxes (README "Many mailboxes"): the root command's only. */
function addManyOptions(cmd: Command): Command {
  return cmd
    .option('--mailboxes-file <file>', 'watch the mailboxes listed in this file, one address a line, # comments (- for standard input; EWS_MAILBOXES_FILE); SIGHUP reads it again')
    .option('--shard <K/N>', 'watch only this process\'s part K (from 0) of N of the list, by a stable hash of each address (EWS_SHARD)');
}

/** commander keeps the repeatable --mailbox under `mailbox`; the configuration takes the list as `mailboxes`. */
function withMailboxes<T extends { mailbox?: unknown }>(opts: T): Omit<T, 'mailbox'> & { mailboxes?: string[] } {
  const { mailbox, ...rest } = opts;
  return mailbox === undefined ? rest : { ...rest, mailboxes: mailbox as string[] };
}

export function buildProgram(actions: ProgramActions, version: string): Command {
  const program = new Command('ews-watch')
    .description('Watch a Microsoft Exchange mailbox over EWS streaming notifications and print every event as it arrives.')
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    // No arguments of its own: a word here is a mistyped command, reported as such by the action.
    .allowExcessArguments(true);
  addConnectionOptions(program);
  addManyOptions(program);
  addWatchOptions(program);
  program.addHelpText(
    'after',
    `
Environment: EWS_URL, EWS_USER, EWS_PASSWORD, EWS_AUTH, EWS_MAILBOX, EWS_ACCESS_TOKEN (--auth token),
EWS_SERVER_VERSION, EWS_CA_FILE, EWS_STATE_DIR, NO_COLOR, FORCE_COLOR; EWS_KEYCHAIN (auto, keychain, file or
none: where \`ews-watch login\` keeps secrets) and EWS_KEYCHAIN_SERVICE (default ews-watch); a .env file in the
current directory is read too.
A flag beats the environment, which beats .env.
OAuth (Exchange Online): EWS_TENANT_ID, EWS_CLIENT_ID; an app adds EWS_CLIENT_SECRET or EWS_CLIENT_CERT and
EWS_MAILBOX; a person signs in once with \`ews-watch login --auth oauth --tenant T --client-id C\`.

Many mailboxes: several --mailbox (or a comma list), or --mailboxes-file, watch them all from one process as an
account allowed to impersonate them (ApplicationImpersonation, or an app with full_access_as_app); each event
names its mailbox. SIGHUP reads the file again: new mailboxes are added, missing ones dropped, the rest untouched.
--shard K/N splits one list among N processes, with no overlap and no gap; a shard with no mailbox idles.
EWS_MAILBOX may hold a comma list; EWS_MAILBOXES_FILE and EWS_SHARD stand for the two flags.

Hooks: \`--on NewMail --exec notify-send "New mail"\` runs notify-send for each NewMail, with no shell; the event's
NDJSON line on stdin and EWS_EVENT, EWS_EVENTS, EWS_ITEM_ID, EWS_FOLDER_ID, EWS_FOLDER, EWS_SUBJECT, EWS_FROM,
EWS_FROM_NAME, EWS_MAILBOX, EWS_SOURCE, EWS_TIMESTAMP in its environment (subject and sender with --details).
Everything after --exec is the program's, up to a lone ';' (type \\; or ';'), after which more options and hooks
may follow; \`-- program args…\` is the same as --exec, to the end. A failing hook is reported and never stops the watch.

Exit status: 0 stopped (SIGINT/SIGTERM, --max-events, reader closed stdout), 1 runtime failure (also a URL
that answers but is not EWS, before anything streamed) or stdout unwritable, 2 usage or configuration error
(also: autodiscover found no URL, or was sent to another domain), 4 authentication failed, 124 --timeout ran out before enough events matched, 130 second SIGINT (or Ctrl-C at
the password prompt).

Examples:
  ews-watch demo --max-events 3 --json
  ews-watch --url https://mail.contoso.com/EWS/Exchange.asmx --user alice@contoso.com --events NewMail,Created
  ews-watch --user alice@contoso.com -v      (no --url: autodiscover; -v says where it looked)
  ews-watch --events NewMail --json | jq -r .itemId
  ews-watch --events NewMail --from bank --since now --max-events 1 --timeout 2m --json
  ews-watch --details --on NewMail --exec notify-send "New mail"
  ews-watch --url https://mail.contoso.com/EWS/Exchange.asmx --user svc-ews@contoso.com --mailboxes-file team.txt --json
  EWS_CLIENT_SECRET=… ews-watch --auth oauth --tenant contoso.onmicrosoft.com --client-id <app id> --mailbox alice@contoso.com`,
  );
  program.action(async (opts: RawOptions & { envFile?: string }, self: Command) => {
    if (self.args.length > 0) unknownCommand(self, self.args[0] as string);
    return actions.watch(withMailboxes(opts));
  });

  const demo = new Command('demo')
    .description('start a simulated Exchange server on 127.0.0.1 and watch it over real HTTP; new mail arrives every few seconds')
    .helpOption('-h, --help', 'show this help');
  addWatchOptions(demo, { demo: true }).option('--print-credentials', 'print its URL, user and password on stderr first (so does -v), to try check, login or plain watching against it');
  demo.addHelpText('after', '\nThe mailbox starts with a few mails (--backfill reports them) and gets a new one every few seconds.');
  demo.action(async (opts: RawOptions & { printCredentials?: boolean }) => actions.demo(opts));
  program.addCommand(demo);
  const check = new Command('check')
    .description('sign in, Subscribe and Unsubscribe once, and report the server version, the scheme, the timings and what to fix')
    .helpOption('-h, --help', 'show this help');
  addManyOptions(addConnectionOptions(check))
    .option('--folder <name|id>', 'folder to try the subscription on (default: inbox)', collect)
    .option('--all-folders', 'try a subscription on every folder')
    .option('--events <list>', 'event types to subscribe to (default: all)')
    .option('--live', 'also prove that events get through: time a draft\'s notification on a real stream in a scratch folder of its own, kept open and idle, then delete both (asks first)')
    .option('--yes', 'with --live: go on without asking (needed where no terminal can be asked)')
    .option('--live-minutes <n>', 'with --live: how long the stream stays open and idle, 1..30 (default 2; longer catches longer idle timeouts)')
    .option('-v, --verbose', 'show requests and headers on stderr (secrets redacted)');
  check.addHelpText(
    'after',
    `
--live writes to the mailbox, and nothing but this: it creates the folder "ews-watch check <date> <time> #<4 hex
digits>" under the top of the mailbox, saves one draft in it, and deletes both (HardDelete) when it ends, also
after an error or Ctrl-C (a second Ctrl-C leaves them, and says so). It asks first on a terminal; elsewhere it
needs --yes (exit 2 without). Folders left by a check that was killed are named by the next, which deletes them
too when allowed. One line each, with what to ask the admin of what sits between ews-watch and Exchange:
  ok    events arrive in N ms                           the draft's event came through at once
  FAIL  the event came only when the connection closed  a proxy buffers responses: turn buffering off for /EWS/
  FAIL  no byte for N s, then the connection was cut    an idle timeout: raise it above 30 minutes for /EWS/
  FAIL  the affinity cookie did not come back / the stream's server did not know the subscription
                                                        a balancer strips cookies or balances without affinity
  note  heartbeats every N s, or none                   as the server sends them
Several --mailbox or --mailboxes-file (without --live): one Subscribe and Unsubscribe per mailbox as the watch
would make it, one line each (ok, or what failed and what to ask the admin), and a summary.
Exit status: 0 all ok, 1 a problem found, 2 usage, 4 sign-in refused, 130 stopped (after cleaning up).`,
  );
  check.action(async (_opts: RawOptions, self: Command) => actions.check(withMailboxes(self.optsWithGlobals<RawOptions & { envFile?: string }>())));
  program.addCommand(check);
  program.addCommand(credentialCommand('login', 'store the password (or, with --auth oauth, sign in) for later runs: in the OS keychain, else a private file', actions.login));
  program.addCommand(credentialCommand('logout', 'remove what login stored, and say whether anything was there', actions.logout));
  program.addCommand(helpCommand(program));
  return program;
}

function credentialCommand(name: 'login' | 'logout', description: string, action: (opts: CredentialOptions) => Promise<void>): Command {
  const cmd = new Command(name)
    .description(description)
    .helpOption('-h, --help', 'show this help')
    .option('--url <url>', 'EWS endpoint; the entry is kept per server origin and user (EWS_URL)')
    .option('--user <name>', 'alice@contoso.com or CONTOSO\\alice (EWS_USER)')
    .option('--auth <kind>', 'oauth: the token cache of a device-code sign-in instead of a password (EWS_AUTH)')
    .option('--keychain <where>', 'auto (the OS keychain, else a private file), keychain, file or none (EWS_KEYCHAIN)')
    .option('--tenant <id>', 'OAuth: the Entra tenant id or domain (EWS_TENANT_ID)')
    .option('--client-id <id>', 'OAuth: the application (client) id (EWS_CLIENT_ID)')
    .addOption(new Option('--authority <url>', 'OAuth: another identity platform (EWS_AUTHORITY)').hideHelp())
    .option('--env-file <path>', 'read variables from this file instead of ./.env');
  if (name === 'login') cmd.option('--password-stdin', 'read the password from the first line of standard input (else a prompt on a terminal)');
  const what =
    name === 'login'
      ? 'Nothing is sent to the server; `ews-watch check` tries the stored password.'
      : 'Removes what login stored for this server and user (with --auth oauth, the token cache); nothing is sent\nto the server.';
  cmd.addHelpText('after', `\n${what}\nEWS_KEYCHAIN_SERVICE names the keychain service (default ews-watch).`);
  return cmd.action(async (_opts: CredentialOptions, self: Command) => action(self.optsWithGlobals<CredentialOptions>()));
}

/** `ews-watch help [command]`: the help of the program or of one command; an unknown one is named as such. */
function helpCommand(program: Command): Command {
  return new Command('help')
    .description('show the help of ews-watch or of a command')
    .argument('[command]')
    .helpOption('-h, --help', 'show this help')
    .action((name: string | undefined) => {
      if (name === undefined) program.help();
      const cmd = program.commands.find((c) => c.name() === name);
      return cmd ? cmd.help() : unknownCommand(program, name);
    });
}

/** `ews-watch dmeo`: "unknown command 'dmeo' (did you mean demo?)", exit 2. */
function unknownCommand(program: Command, word: string): never {
  const names = program.commands.map((c) => c.name());
  const near = names.filter((n) => editDistance(word.toLowerCase(), n) <= Math.max(1, Math.floor(n.length / 3)));
  const hint = near.length > 0 ? ` (did you mean ${near.join(' or ')}?)` : ` (commands: ${names.join(', ')})`;
  return program.error(`unknown command '${word}'${hint}`, { code: 'commander.unknownCommand', exitCode: 2 });
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((d[i - 1] as number[])[j]! + 1, row[j - 1]! + 1, (d[i - 1] as number[])[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, (d[i - 2] as number[])[j - 2]! + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}
