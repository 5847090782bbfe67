// Runs a scripted GetStreamingEvents: one StreamStep after another against a host that renders and writes
// envelopes. Knows the step semantics only; the connection (stream-connection.ts) owns sockets and timers.

import type { FloodStep } from './stream-flood.js';
import type { EnvelopeStep, SentEnvelope, Split, StreamStep } from './types.js';

/** One envelope ready to write, with what to record about it. */
export interface Rendered {
  xml: string;
  kind: SentEnvelope['kind'];
  subscriptionIds: string[];
  events?: SentEnvelope['events'];
  code?: string;
  /** The response ends after this envelope (Closed). */
  ends: boolean;
}

export interface ScriptHost {
  /** The envelopes a step produces: none for a flush with an empty queue, two after missed events. */
  render(step: EnvelopeStep): Rendered[];
  send(envelopes: Rendered[], split?: Split, pauseMs?: number): Promise<void>;
  sleep(ms: number): Promise<void>;
  /** Write the first `bytes` of the envelope (default half), then destroy the socket. */
  drop(envelope: Rendered | undefined, bytes?: number): void;
  /** Write `text` over and over, as fast as the client reads, until it goes away or `bytes` were written. */
  repeat(text: string, bytes?: number): Promise<void>;
  end(): void;
  stall(): void;
  /** false once the response is over or the script was aborted. */
  active(): boolean;
  /** Writes a flood of envelopes (stream-flood.ts). */
  flood(step: FloodStep): Promise<void>;
}

/** 'continue' when the steps ran out with the response still open: the default behaviour takes over. */
export async function runStreamScript(steps: readonly StreamStep[], host: ScriptHost): Promise<'continue' | 'done'> {
  for (const step of steps) {
    if (!host.active()) return 'done';
    switch (step.op) {
      case 'wait':
        await host.sleep(step.ms);
        break;
      case 'stall':
        host.stall();
        return 'done';
      case 'end':
        host.end();
        return 'done';
      case 'flood':
        await host.flood(step);
        break;
      case 'drop':
        host.drop(host.render({ op: step.envelope ?? 'heartbeat' }).at(-1), step.bytes);
        return 'done';
      case 'repeat':
        await host.repeat(step.text, step.bytes);
        break;
      case 'batch': {
        if (await sendAndMaybeEnd(host, step.steps.flatMap(host.render), step.split, step.pauseMs)) return 'done';
        break;
      }
      default: {
        if (await sendAndMaybeEnd(host, host.render(step), step.split, step.pauseMs)) return 'done';
      }
    }
  }
  return host.active() ? 'continue' : 'done';
}

async function sendAndMaybeEnd(host: ScriptHost, rendered: Rendered[], split?: Split, pauseMs?: number): Promise<boolean> {
  if (rendered.length === 0) return false;
  await host.send(rendered, split, pauseMs);
  if (!rendered.some((r) => r.ends)) return false;
  host.end();
  return true;
}
