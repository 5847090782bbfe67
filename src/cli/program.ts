// The command line (cli-contract.md): the root command watches; `demo` watches the built-in simulated Exchange.
// Definitions only: actions are handed in, so tests can parse argv without running anything.

import { Command, Option } from 'commander';
import type { RawOptions } from './config.js';

export interface ProgramActions {
  watch(opts: RawOptions & { envFile?: string }): Promise<void>;
  demo(opts: RawOptions): Promise<void>;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function addWatchOptions(cmd: Command): Command {
  return cmd
    .option('--folder <name|id>', 'folder to watch: inbox, sentitems, calendar, … or a FolderId; repeatable or a comma list (default: inbox)', collect)
    .option('--all-folders', 'watch every folder of the mailbox (SubscribeToAllFolders)')
    .option('--events <list>', 'events to report: NewMail,Created,Deleted,Modified,Moved,Copied,FreeBusyChanged (default: all)')
    .addOption(new Option('--format <format>', 'output format: pretty or ndjson (default: pretty on a terminal, else ndjson)'))
    .option('--json', 'same as --format ndjson')
    .option('--max-events <n>', 'exit 0 after printing n events')
    .option('--connection-timeout <minutes>', 'ConnectionTimeout of each GetStreamingEvents request, 1..30', undefined)
    .option('--heartbeat-timeout <seconds>', 'reconnect when nothing at all arrived for this long', undefined)
    .option('--color <when>', 'colour: auto, always or never (NO_COLOR and FORCE_COLOR are honoured)')
    .option('-v, --verbose', 'more on stderr: requests, headers (secrets redacted), reconnects')
    .option('-q, --quiet', 'less on stderr: errors only');
}

export function buildProgram(actions: ProgramActions, version: string): Command {
  const program = new Command('ews-watch')
    .description('Watch a Microsoft Exchange mailbox over EWS streaming notifications and print every event as it arrives.')
    .version(version, '--version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .option('--url <url>', 'EWS endpoint, e.g. https://mail.contoso.com/EWS/Exchange.asmx (EWS_URL)')
    .option('--user <name>', 'alice@contoso.com or CONTOSO\\alice (EWS_USER); the password comes from EWS_PASSWORD, --password-stdin or a prompt')
    .option('--auth <kind>', 'auto, basic or token (EWS_AUTH); ntlm and oauth are not available yet (default: auto = basic)')
    .option('--mailbox <smtp>', 'SMTP address of the mailbox to watch (EWS_MAILBOX; default: the user, when it is an address)')
    .option('--server-version <version>', 'RequestServerVersion to send (EWS_SERVER_VERSION; default: Exchange2013_SP1)')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--env-file <path>', 'read variables from this file instead of ./.env');
  addWatchOptions(program);
  program.addHelpText(
    'after',
    `
Environment: EWS_URL, EWS_USER, EWS_PASSWORD, EWS_AUTH, EWS_MAILBOX, EWS_ACCESS_TOKEN (--auth token),
EWS_SERVER_VERSION, NO_COLOR, FORCE_COLOR; a .env file in the current directory is read too.
A flag beats the environment, which beats .env.

Exit status: 0 stopped (SIGINT/SIGTERM, --max-events, reader closed stdout), 1 runtime failure,
2 usage or configuration error, 4 authentication failed, 130 second SIGINT.

Examples:
  ews-watch demo --max-events 3 --json
  ews-watch --url https://mail.contoso.com/EWS/Exchange.asmx --user alice@contoso.com --events NewMail,Created
  ews-watch --events NewMail --json | jq -r .itemId`,
  );
  program.action(async (opts: RawOptions & { envFile?: string }) => actions.watch(opts));

  const demo = new Command('demo')
    .description('start a simulated Exchange server on 127.0.0.1 and watch it over real HTTP; new mail arrives every few seconds')
    .helpOption('-h, --help', 'show this help');
  addWatchOptions(demo);
  demo.action(async (opts: RawOptions) => actions.demo(opts));
  program.addCommand(demo);
  return program;
}
