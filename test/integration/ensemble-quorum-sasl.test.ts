// quorum.auth.*: a 3-node ensemble whose members authenticate each other with DIGEST-MD5 (JAAS
// QuorumServer / QuorumLearner sections); a member with a wrong password is refused and logged;
// a rolling upgrade's first step (one member with enableSasl among members without) still forms.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '../../src/client/index.js';
import { Ensemble } from '../helpers/ensemble.js';
import { waitFor } from '../helpers/wait-for.js';

function jaas(learnerPassword: string): string {
  return [
    'QuorumServer {',
    '  org.apache.zookeeper.server.auth.DigestLoginModule required',
    '  user_member="quorum-secret";',
    '};',
    'QuorumLearner {',
    '  org.apache.zookeeper.server.auth.DigestLoginModule required',
    `  username="member" password="${learnerPassword}";`,
    '};',
    '',
  ].join('\n');
}

async function replicates(ens: Ensemble, from: number, to: number, znode: string): Promise<void> {
  const a = await ZooKeeperClient.connect(ens.connectString([from]), { sessionTimeoutMs: 6000 });
  const b = await ZooKeeperClient.connect(ens.connectString([to]), { sessionTimeoutMs: 6000 });
  try {
    await a.create(znode, 'replicated');
    await b.sync(znode);
    expect(String((await b.getData(znode)).data)).toBe('replicated');
  } finally {
    await a.close();
    await b.close();
  }
}

describe('ensemble with quorum SASL required', () => {
  let dir: string;
  let ens: Ensemble;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-qsasl-'));
    await writeFile(path.join(dir, 'jaas.conf'), jaas('quorum-secret'));
    await writeFile(path.join(dir, 'jaas-wrong.conf'), jaas('not-the-secret'));
    ens = await Ensemble.create({
      extraCfg: [
        'quorum.auth.enableSasl=true',
        'quorum.auth.learnerRequireSasl=true',
        'quorum.auth.serverRequireSasl=true',
        `java.security.auth.login.config=${path.join(dir, 'jaas.conf')}`,
      ],
    });
    await ens.startAll();
  }, 60_000);
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stdout.write(`${ens.tail(60)}\n`);
  });
  afterAll(async () => {
    await ens?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('elects a leader and replicates with every peer connection authenticated', async () => {
    await ens.waitForQuorum();
    await replicates(ens, 1, 3, '/over-quorum-sasl');
    // Every member dials some peers and is dialled by others: each side of the exchange shows up.
    for (const n of ens.nodes) expect(n.output, `node ${n.id}`).toMatch(/quorum SASL: (peer authenticated|authenticated to the peer)/);
    expect(ens.nodes.some((n) => n.output.includes('quorum SASL: peer authenticated'))).toBe(true);
    expect(ens.nodes.some((n) => n.output.includes('"user":"member"'))).toBe(true);
  });

  it('refuses a member whose QuorumLearner password is wrong, logging it, and keeps serving', async () => {
    const leader = (await ens.leader())!;
    const bad = leader === 1 ? 2 : 1;
    const node = ens.node(bad);
    await ens.kill(bad);
    await writeFile(node.cfgPath, (await readFile(node.cfgPath, 'utf8')).replace(path.join(dir, 'jaas.conf'), path.join(dir, 'jaas-wrong.conf')));
    const others = ens.nodes.filter((n) => n.id !== bad);
    const offsets = new Map(others.map((n) => [n.id, n.output.length]));
    const refusals = (): string[] =>
      others.flatMap((n) => n.output.slice(offsets.get(n.id)).split('\n').filter((l) => l.includes('quorum SASL: authentication of the peer failed') && l.includes('"level":50')));
    ens.start(bad);
    await waitFor(() => refusals().length > 0, () => `a member to refuse node ${bad}\n${ens.tail()}`, 30_000);
    expect(refusals()[0]).toMatch(/wrong password for user member/);
    // The refused member says why too (its own log, written about when the refusal was).
    await waitFor(
      () => node.output.split('\n').some((l) => l.includes('quorum SASL: authentication to the peer failed') && l.includes('the peer refused us: authentication failed')),
      () => `node ${bad} to log its refusal\n${ens.tail()}`,
    );
    const good = others.map((n) => n.id);
    await replicates(ens, good[0]!, good[1]!, '/still-serving');
    // Still running, still kept out: it never serves as a member.
    expect(ens.isRunning(bad)).toBe(true);
    expect(await ens.mode(bad)).toBeNull();
  }, 60_000);
});

describe('rolling upgrade to quorum SASL, first step', () => {
  let dir: string;
  let ens: Ensemble;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'zabkeeper-qsasl-'));
    await writeFile(path.join(dir, 'jaas.conf'), jaas('quorum-secret'));
    // Member 3 has enableSasl (it would authenticate a peer that asks, requires nothing); 1 and 2 have no SASL yet.
    ens = await Ensemble.create({ nodeCfg: { 3: ['quorum.auth.enableSasl=true', `java.security.auth.login.config=${path.join(dir, 'jaas.conf')}`] } });
    await ens.startAll();
  }, 60_000);
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') process.stdout.write(`${ens.tail(60)}\n`);
  });
  afterAll(async () => {
    await ens?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('forms and replicates with one member on enableSasl among members without SASL', async () => {
    await ens.waitForQuorum();
    expect(await ens.mode(3)).toMatch(/^(leader|follower)$/);
    await replicates(ens, 1, 3, '/mixed-mode');
    await replicates(ens, 3, 2, '/mixed-mode-back');
    expect(ens.nodes.some((n) => /quorum SASL: (peer authenticated|authentication)/.test(n.output))).toBe(false);
  });
});
