// Running a user's program per event, without a shell: public surface.
export { createHookRunner } from './runner.js';
export { HOOK_DEFAULTS } from './types.js';
export { hookEnv } from './env.js';
export { KILL_GRACE_MS } from './process.js';
export type { HookEvent, HookEventFields, HookRunner, HookRunnerOptions, HookSpec, HookStats } from './types.js';
