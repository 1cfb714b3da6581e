// The same client suite that passes against Apache ZooKeeper 3.8, run against a zabkeeper process.

import { startServerProcess } from '../helpers/server-process.js';
import { clientSuite } from './client-suite.js';

clientSuite('client against zabkeeper', async () => {
  // tickTime 1000 like the real-ZooKeeper helper, so negotiated timeouts match.
  const server = await startServerProcess({ tickTimeMs: 1000 });
  return { connectString: server.connectString, stop: () => server.stop() };
});
