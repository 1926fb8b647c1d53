import { HTTPParser } from "http-parser-js";

// http-parser-js is lenient where a strict parser in front of the gateway or behind it (llhttp,
// nginx) is not, and two parsers that frame the same bytes differently are how requests get
// smuggled. This module swaps its line, header-line and chunk-size steps for strict ones and bounds
// what it leaves unbounded; test/unit/server/h1-differential.test.ts checks the result against llhttp.

/** A request the HTTP layer refuses before any handler sees it. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A chunk-size line: hex digits, optionally extensions (RFC 9112 7.1). */
const CHUNK_SIZE = /^[0-9a-fA-F]{1,15}(?:[ \t]*;.*)?$/;

/**
 * Lines are decoded byte for byte, as node:http does. http-parser-js decodes them as "ascii", which
 * drops the high bit: 0xAF would read as '/', so one path segment could become two here but not in
 * a proxy in front; with latin1 such bytes stay themselves and the request target check refuses them.
 */
const LINE_ENCODING = "latin1";

/**
 * The http-parser-js 0.5.10 internals this layer relies on (pinned; test/unit/server/h1.test.ts and
 * h1-differential.test.ts cover every use): the state machine (`this[state]()`, with a partial line
 * in `line`), the chunk being executed, and the three steps replaced below.
 */
interface ParserInternals {
  state: string;
  line: string;
  chunk: Buffer;
  offset: number;
  end: number;
  maxHeaderSize: number;
  /** This layer's own count: bytes of the current message's trailer section (from zero at its last chunk). */
  trailerBytes: number;
  body_bytes: number | null;
  consumeLine(): string | undefined;
  parseHeader(line: string, headers: string[]): void;
  BODY_CHUNKHEAD(): void;
}

/**
 * Every line of a head, chunk size or trailer must end in CRLF, with no other CR in it. http-parser-js
 * also ends a line at a bare LF, so `Host: x\n` or chunk data followed by a bare LF would frame
 * differently here than in a strict parser in front or behind (llhttp refuses them).
 */
function strictConsumeLine(this: ParserInternals): string | undefined {
  const { chunk, end } = this;
  for (let i = this.offset; i < end; i++) {
    if (chunk[i] !== 0x0a) continue;
    const line = this.line + chunk.toString(LINE_ENCODING, this.offset, i);
    this.line = "";
    this.offset = i + 1;
    if (this.state === "BODY_CHUNKTRAILERS" && (this.trailerBytes += line.length + 1) > this.maxHeaderSize) throw framingTooLarge(this);
    const last = line.length - 1;
    if (last < 0 || line.charCodeAt(last) !== 13) throw new Refusal(400, `bare LF ${line === "" ? "as an empty line" : `after ${quoted(line)}`} in the ${part(this)}: end every line with CRLF`);
    if (line.indexOf("\r") !== last) throw new Refusal(400, `bare CR in ${quoted(line.slice(0, last))} in the ${part(this)}: end lines with CRLF and send no other CR`);
    return line.slice(0, last);
  }
  this.line += chunk.toString(LINE_ENCODING, this.offset, end);
  this.offset = end;
  // The parser bounds only the head; a chunk-size line or trailer section could otherwise grow without end.
  if (this.line.length > this.maxHeaderSize && !HEAD_STATES.has(this.state)) throw framingTooLarge(this);
  return undefined;
}

const HEAD_STATES = new Set(["REQUEST_LINE", "HEADER"]);

/** Which part of the message the parser is in, for messages that say where. */
function part(p: ParserInternals): string {
  return HEAD_STATES.has(p.state) ? "request head" : p.state === "BODY_CHUNKTRAILERS" ? "trailer section" : "chunked body framing";
}

/** A line echoed in a message: printable ASCII only (others as '?'), at most 64 characters. */
function quoted(line: string): string {
  const clean = line.replace(/[^\x20-\x7e]/g, "?");
  return `'${clean.length > 64 ? `${clean.slice(0, 64)}...` : clean}'`;
}

/** Past the head, so the handler reading the body gets this message as BodyAborted and answers 400. */
function framingTooLarge(p: ParserInternals): Refusal {
  return new Refusal(
    400,
    p.state === "BODY_CHUNKTRAILERS"
      ? `request trailer section exceeds ${p.maxHeaderSize} bytes: send fewer or shorter trailer fields`
      : `a line of the chunked framing exceeds ${p.maxHeaderSize} bytes: send chunk sizes without long extensions`,
  );
}

/** Space or horizontal tab. */
const isBlank = (c: number): boolean => c === 0x20 || c === 0x09;

/**
 * http-parser-js joins a line that starts with a space to the previous header (obs-fold) and skips a
 * line without a colon; both are refused here (RFC 9112 5.2 allows refusing obs-fold), so
 * `Content-Length; 5` or a folded ` Transfer-Encoding: chunked` cannot hide framing from this layer.
 * A name is one or more characters up to the first colon with no blank among them; the value is the
 * rest without leading or trailing blanks (scanned by hand: this runs for every header line).
 */
function strictParseHeader(line: string, headers: string[]): void {
  const colon = line.indexOf(":");
  let nameOk = colon > 0;
  for (let i = 0; nameOk && i < colon; i++) if (isBlank(line.charCodeAt(i))) nameOk = false;
  if (!nameOk) {
    throw new Refusal(400, line[0] === " " || line[0] === "\t" ? `folded header line ${quoted(line)} (obs-fold): send each header on one line` : `malformed header line ${quoted(line)}: send 'Name: value' with no space before the colon`);
  }
  let start = colon + 1;
  let end = line.length;
  while (start < end && isBlank(line.charCodeAt(start))) start++;
  while (end > start && isBlank(line.charCodeAt(end - 1))) end--;
  headers.push(line.slice(0, colon), line.slice(start, end));
}

/**
 * http-parser-js reads a chunk size with parseInt, so `XYZ` ends a body and `5junk` is 5. This
 * stricter step refuses any size line that is not hex (with optional extensions), so a chunked
 * body cannot be framed two ways.
 */
function strictChunkHead(this: ParserInternals): void {
  const line = this.consumeLine();
  if (line === undefined) return;
  if (!CHUNK_SIZE.test(line)) throw new Refusal(400, `malformed chunk size ${quoted(line)}: each chunk of a chunked body starts with its size in hex`);
  this.body_bytes = parseInt(line, 16);
  if (this.body_bytes) this.state = "BODY_CHUNK";
  else {
    this.state = "BODY_CHUNKTRAILERS";
    this.trailerBytes = 0;
  }
}

/** A request parser (http-parser-js 0.5.10, pinned) with the strict steps above and `maxHeaderSize` as its head limit. */
export function strictRequestParser(maxHeaderSize: number): InstanceType<typeof HTTPParser> {
  const p = new HTTPParser(HTTPParser.REQUEST);
  p.maxHeaderSize = maxHeaderSize;
  const internals = p as unknown as ParserInternals;
  internals.consumeLine = strictConsumeLine;
  internals.parseHeader = strictParseHeader;
  internals.BODY_CHUNKHEAD = strictChunkHead;
  return p;
}

/**
 * An answer parser for the upstream client: http-parser-js with the header-line step above, which
 * scans by hand where the stock one runs a RegExp match per header line, and refuses folded or
 * colon-less lines (the answer fails as UPSTREAM_BAD_ANSWER).
 */
export function answerParser(maxHeaderSize: number): InstanceType<typeof HTTPParser> {
  const p = new HTTPParser(HTTPParser.RESPONSE);
  p.maxHeaderSize = maxHeaderSize;
  (p as unknown as ParserInternals).parseHeader = strictParseHeader;
  return p;
}

/** No part of a next request's head has arrived yet. */
export function betweenRequests(p: InstanceType<typeof HTTPParser>): boolean {
  const internals = p as unknown as ParserInternals;
  return internals.state === "REQUEST_LINE" && internals.line === "";
}
