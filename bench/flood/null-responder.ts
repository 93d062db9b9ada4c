// The flood's control (bench/flood.ts --control): the cheapest answer a Node
// HTTP server can give. Every request gets the bytes kjd's early refusal
// writes to an address over its budget of new tokens (429, Retry-After, the
// same JSON body), with no routing, no token and no bookkeeping. A flood aimed
// here costs the machine what any Node server would pay for it (wrk, the
// kernel's loopback, Node's HTTP parsing and the write), so the legit
// producer's ratio under it is the floor kjd's own ratio is measured against.
// Prints its port on stdout, then serves until killed.
import { createServer } from 'node:http';

const body = JSON.stringify({
  error: { code: 'TOO_MANY_NEW_TOKENS', message: 'too many unknown tokens from this address' },
});
const headers = {
  'content-type': 'application/json',
  'content-length': Buffer.byteLength(body),
  'retry-after': '1',
};
const server = createServer((req, res) => {
  req.resume(); // read the body, as kjd's refusal does before the connection is reused
  res.writeHead(429, headers);
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  process.stdout.write(`${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
