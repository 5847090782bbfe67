// Where a setting comes from, in one place: a flag beats the environment, which beats .env (./.env or --env-file),
// which beats the default; an empty variable counts as unset (README, "Options"). Every command's configuration is
// read through this (src/cli/command-config.ts), and a bad value is blamed on the layer that gave it. Pure.

export type Env = Readonly<Record<string, string | undefined>>;
export type Source = 'flag' | 'env' | '.env' | 'default';

/** A value and the layer it came from; `default` (and no value) when no layer gave one: the caller's default applies. */
export interface Setting {
  readonly value: string | undefined;
  readonly source: Source;
}

export interface Layers {
  /** The process environment. */
  env: Env;
  /** The variables of ./.env or --env-file (none for `demo`). */
  dotenv: Env;
  /** How messages name that file: ./.env, or the --env-file path as given. */
  dotenvName?: string;
}

export interface Lookup {
  /** `flag` when given (even empty: `--url ''` is a bad URL, not no URL), else the variable from the environment, else from .env. */
  pick(flag: string | undefined, name: string): Setting;
  /** A variable that has no flag (EWS_PASSWORD, EWS_KEYCHAIN_SERVICE, …): the environment, else .env. */
  variable(name: string): Setting;
  /** "--url", "EWS_URL (from the environment)" or "EWS_URL in ./.env": whichever layer gave the value. */
  describe(source: Source, flag: string, name: string): string;
  readonly dotenvName: string;
}

/** Set and not empty: an empty variable (`EWS_STATE_DIR=`) means the same as no variable. */
function given(value: string | undefined): value is string {
  return value !== undefined && value !== '';
}

export function createLookup(layers: Layers): Lookup {
  const dotenvName = layers.dotenvName ?? './.env';
  const variable = (name: string): Setting => {
    const fromEnv = layers.env[name];
    if (given(fromEnv)) return { value: fromEnv, source: 'env' };
    const fromFile = layers.dotenv[name];
    if (given(fromFile)) return { value: fromFile, source: '.env' };
    return { value: undefined, source: 'default' };
  };
  return {
    pick: (flag, name) => (flag !== undefined ? { value: flag, source: 'flag' } : variable(name)),
    variable,
    describe: (source, flag, name) => (source === 'env' ? `${name} (from the environment)` : source === '.env' ? `${name} in ${dotenvName}` : flag),
    dotenvName,
  };
}
