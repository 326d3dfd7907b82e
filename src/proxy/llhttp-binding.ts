/**
 * Node's built-in llhttp binding (the C++ parser node:http itself uses), typed for the proxy's own
 * HTTP/1.1 server (http/h1-server.ts) and upstream pool (upstream/h1-pool.ts). `_http_common` is
 * Node's internal module that exposes it; the callbacks are set per parser by index.
 */
import { createRequire } from 'node:module';

export interface LlhttpParser<Owner> {
  [k: number]: unknown;
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  close(): void;
  /** what the callbacks (called with the parser as `this`) work on */
  conn: Owner;
}

interface ParserBinding {
  new <Owner>(): LlhttpParser<Owner>;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  /** strict parsing: no leniency flags (node:http's default) */
  kLenientNone: number;
}

const common = createRequire(import.meta.url)('_http_common') as { HTTPParser: ParserBinding; methods: string[] };

const HTTPParser: ParserBinding = common.HTTPParser;
/** llhttp's method numbers, as the headers-complete callback reports them */
export const HTTP_METHODS: readonly string[] = common.methods;

/** The parser's callbacks; each runs with the parser as `this` (its owner is `this.conn`). */
export interface LlhttpCallbacks<Owner> {
  onMessageBegin?: (this: LlhttpParser<Owner>) => void;
  onHeaders: (this: LlhttpParser<Owner>, headers: string[], url: string) => void;
  // llhttp passes the head's fields positionally; each side declares the ones it reads
  onHeadersComplete: (this: LlhttpParser<Owner>, ...head: never[]) => number;
  onBody: (this: LlhttpParser<Owner>, chunk: Buffer) => void;
  onMessageComplete: (this: LlhttpParser<Owner>) => void;
}

/** A strict parser for requests or responses, owned by `owner`; callbacks are static functions. */
export function createParser<Owner>(kind: 'request' | 'response', owner: Owner, cb: LlhttpCallbacks<Owner>, maxHeaderBytes = 0): LlhttpParser<Owner> {
  const parser = new HTTPParser<Owner>();
  parser.initialize(kind === 'request' ? HTTPParser.REQUEST : HTTPParser.RESPONSE, {}, maxHeaderBytes, HTTPParser.kLenientNone);
  if (cb.onMessageBegin !== undefined) parser[HTTPParser.kOnMessageBegin] = cb.onMessageBegin;
  parser[HTTPParser.kOnHeaders] = cb.onHeaders;
  parser[HTTPParser.kOnHeadersComplete] = cb.onHeadersComplete;
  parser[HTTPParser.kOnBody] = cb.onBody;
  parser[HTTPParser.kOnMessageComplete] = cb.onMessageComplete;
  parser.conn = owner;
  return parser;
}
