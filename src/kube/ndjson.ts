// The lines of a newline-delimited stream (a watch's JSON events), split on
// bytes and decoded one whole line at a time, so a character split across
// two chunks is never cut. Lighter than node:readline, which turns every
// line into an event and decodes every chunk as it comes: a watch carries a
// few events per Job, and readline showed in the CPU profile of kjd's burst.

const NEWLINE = 0x0a;
const CR = 0x0d;

/** Each non-empty line of `body` (without its `\n` or `\r\n`), as UTF-8 text. */
export async function* ndjsonLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  let pending: Buffer | undefined;
  for await (const piece of body) {
    const chunk = Buffer.isBuffer(piece)
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const line =
        pending === undefined
          ? decode(chunk, start, nl)
          : decode(Buffer.concat([pending, chunk.subarray(start, nl)]), 0, pending.length + nl - start);
      pending = undefined;
      start = nl + 1;
      if (line !== '') yield line;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      pending = pending === undefined ? rest : Buffer.concat([pending, rest]);
    }
  }
  if (pending !== undefined) {
    const last = decode(pending, 0, pending.length);
    if (last !== '') yield last;
  }
}

function decode(buf: Buffer, start: number, end: number): string {
  const stop = end > start && buf[end - 1] === CR ? end - 1 : end;
  return stop > start ? buf.toString('utf8', start, stop) : '';
}
