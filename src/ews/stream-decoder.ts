// The GetStreamingEvents body decoder: bytes → streaming UTF-8 → envelope framer → one saxes parse per
// envelope → StreamMessages, emitted in document order as soon as each envelope closes. Pure and push-based
// (no I/O, no timers): the caller feeds chunks as they arrive (as node-postgres's pg-protocol parser is: bytes in, messages out).
import { ProtocolError } from '../errors.js';
import type { StreamMessage } from './types.js';
import { createEnvelopeFramer } from './framer.js';
import { createStreamEnvelopeParser } from './stream-envelope.js';
import { createUtf8Stream } from './utf8-stream.js';

/** 4 MiB: a notification envelope is a few KB; this only stops a broken or hostile server from filling memory. */
export const DEFAULT_MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

const SLICE = 16 * 1024;

export interface StreamDecoderOptions {
  /** event, heartbeat (ConnectionStatus OK, and each t:StatusEvent keep-alive as gromox sends), closed
   * (ConnectionStatus Closed), error (an Error response message, then closed if it also says Closed; or a SOAP fault). */
  onMessage(m: StreamMessage): void;
  /** Upper bound of one envelope (decoded characters). Default DEFAULT_MAX_ENVELOPE_BYTES. */
  maxEnvelopeBytes?: number;
}

export interface StreamDecoder {
  /** Decodes a chunk; calls onMessage for every message of every envelope it completes, before returning.
   * Throws ProtocolError for malformed or oversized input; the decoder is then unusable. An error thrown by
   * onMessage propagates unchanged; the rest of that envelope's messages are dropped, later input is still decoded. */
  feed(chunk: Uint8Array): void;
  /** The body ended: throws ProtocolError if it ended inside an envelope. */
  end(): void;
  /** Text held for an unfinished envelope (bounded by maxEnvelopeBytes). */
  readonly bufferedBytes: number;
}

/** A heartbeat envelope longer than this is not remembered (Exchange's are about 1 KB). */
const MAX_REMEMBERED_HEARTBEAT = 8 * 1024;

export function createStreamDecoder(opts: StreamDecoderOptions): StreamDecoder {
  const utf8 = createUtf8Stream();
  const envelope = createStreamEnvelopeParser();
  // An idle stream is heartbeats, and a server sends the same heartbeat envelope, byte for byte, every time: the last
  // one that held heartbeats only is remembered, and the same text again yields the same messages without a parse
  // (each envelope parses on its own, so equal text means equal messages). That parse was about a quarter of an idle watch's CPU per heartbeat.
  let heartbeat: { xml: string; count: number } | undefined;
  const framer = createEnvelopeFramer({
    maxEnvelopeBytes: opts.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES,
    onEnvelope(xml) {
      if (heartbeat !== undefined && xml === heartbeat.xml) {
        for (let i = 0; i < heartbeat.count; i++) opts.onMessage({ kind: 'heartbeat' });
        return;
      }
      const messages = envelope.parse(xml); // the whole envelope parses before any of its messages is emitted
      if (messages.length > 0 && xml.length <= MAX_REMEMBERED_HEARTBEAT && messages.every((m) => m.kind === 'heartbeat')) {
        heartbeat = { xml, count: messages.length };
      }
      for (const m of messages) opts.onMessage(m);
    },
  });
  let ended = false;
  let backlog: Uint8Array | undefined; // the rest of a chunk whose decoding onMessage interrupted by throwing

  // Decoded in slices: every string saxes slices from stays alive until its slice is parsed, and a young
  // 64 KiB string that lives through a scavenge gets promoted. 16 KiB slices halve the RSS growth
  // measured by bench/decoder.ts at no measurable cost in speed.
  function decode(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length; off += SLICE) {
      const text = utf8.decode(off === 0 && bytes.length <= SLICE ? bytes : bytes.subarray(off, off + SLICE));
      try {
        if (text.length > 0) framer.push(text);
      } catch (err) {
        if (off + SLICE < bytes.length) backlog = bytes.slice(off + SLICE); // a copy: the caller may reuse its buffer
        throw err;
      }
    }
  }

  function drainBacklog(): void {
    const b = backlog;
    backlog = undefined;
    if (b) decode(b);
  }

  return {
    feed(chunk: Uint8Array): void {
      if (ended) throw new ProtocolError('the event stream was fed after it ended');
      drainBacklog();
      decode(chunk);
    },
    end(): void {
      if (ended) return;
      drainBacklog();
      ended = true;
      const rest = utf8.end();
      if (rest.length > 0) framer.push(rest);
      framer.end();
    },
    get bufferedBytes(): number {
      return framer.buffered;
    },
  };
}
