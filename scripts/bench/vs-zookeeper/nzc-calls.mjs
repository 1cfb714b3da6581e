// One-off node-zookeeper-client calls from the orchestrator (failover and restart probes), each with a time bound.

async function nzc() {
  return (await import('node-zookeeper-client')).default;
}

function nzcConnect(zookeeper, connectString, timeoutMs, spinDelay = 50) {
  const c = zookeeper.createClient(connectString, { sessionTimeout: 30_000, spinDelay, retries: 0 });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      c.close();
      reject(new Error(`could not connect to ${connectString} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.once('connected', () => {
      clearTimeout(t);
      resolve(c);
    });
    c.connect();
  });
}

function nzcCall(fn, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    fn((err, ...rest) => {
      clearTimeout(t);
      if (err) reject(err);
      else resolve(rest);
    });
  });
}

export { nzc, nzcConnect, nzcCall };
