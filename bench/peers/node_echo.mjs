// node_echo.mjs: W6's Node echo server, plain node:net: each connection writes
// back every chunk it reads (socket.on('data') -> socket.write, as Node's own
// benchmark/net echo servers do; no pipe(), whose backpressure machinery is
// not what a ping-pong of small messages exercises).
//
//   node node_echo.mjs server HOST PORT     (HOST: 127.0.0.1; PORT 0: ephemeral)
//
// The protocol of every W6 server (bench/driver/echo-pair.mjs): one line
// "listening on HOST:PORT" on stdout, then echo until SIGTERM or SIGINT, then
// close everything and exit 0. noDelay: TCP_NODELAY, as tideloop and the libuv
// server set it.
import net from 'node:net';
import process from 'node:process';

const [mode, host, port] = process.argv.slice(2);
if (mode !== 'server' || host === undefined || port === undefined) {
  console.error('usage: node node_echo.mjs server HOST PORT');
  process.exit(2);
}

const sockets = new Set();
const server = net.createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', (e) => {
    if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') console.error(`node_echo: ${e.message}`);
  });
  socket.on('close', () => sockets.delete(socket));
});
server.on('error', (e) => {
  console.error(`FAIL: listen on ${host}:${port}: ${e.message}`);
  process.exit(1);
});
server.listen({ host, port: Number(port) }, () => {
  process.stdout.write(`listening on ${host}:${server.address().port}\n`);
});

const stop = () => {
  server.close();
  for (const s of sockets) s.destroy();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
