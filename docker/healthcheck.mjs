// Container health check: exit 0 when the local zabkeeper answers ruok with imok (or, with ruok
// not whitelisted, answers srvr as a serving server), 1 otherwise. Plain node: images lack nc.
import net from 'node:net';

const port = Number(process.env.ZABKEEPER_HEALTHCHECK_PORT ?? process.env.ZOO_CLIENT_PORT ?? 2181);
const host = process.env.ZABKEEPER_HEALTHCHECK_HOST ?? '127.0.0.1';
const timeoutMs = 4000;

function ask(word) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const socket = net.connect({ port, host }, () => socket.write(word));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to ${word} within ${timeoutMs} ms`)));
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

try {
  const answer = await ask('ruok');
  if (answer === 'imok') process.exit(0);
  if (answer.startsWith('ruok is not executed') && (await ask('srvr')).startsWith('Zookeeper version:')) process.exit(0);
  process.stderr.write(`unhealthy: ${host}:${port} answered ${JSON.stringify(answer.slice(0, 200))}\n`);
} catch (err) {
  process.stderr.write(`unhealthy: ${host}:${port}: ${err.message}\n`);
}
process.exit(1);
