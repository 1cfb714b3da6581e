// The client suite against real Apache ZooKeeper 3.8: the reference our client must satisfy.

import { startRealZooKeeper } from '../helpers/real-zookeeper.js';
import { clientSuite } from './client-suite.js';

clientSuite('client against real Apache ZooKeeper', startRealZooKeeper);
