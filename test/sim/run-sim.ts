// CLI: run simulator schedules, print failing seeds with a replayable trace.
//   npx tsc -p test/sim/tsconfig.json && node .tmp/sim/test/sim/run-sim.js --seeds 500 [--first 1] [--seed 42] [--nodes 3|5] [--steps 3000] [--profile classic|slow-disk|full] [--window small|production] [--quorum majority|hierarchical] [--plant noQuorum]
// (the npm script `sim` does both steps: npm run sim -- --seeds 500)

import { addCoverage, emptyCoverage, FAULT_PROFILES, runSimulation, type FaultProfile, type PlantedBug } from './simulation.js';

interface Args {
  seeds: number;
  seed: number | null;
  nodes: number;
  steps: number;
  plant: PlantedBug | undefined;
  profile: FaultProfile;
  reads: 'sequential' | 'linearizable';
  window: 'small' | 'production';
  quorum: 'majority' | 'hierarchical';
  first: number;
  trace: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: 100, seed: null, nodes: 3, steps: 3000, plant: undefined, profile: 'full', reads: 'linearizable', window: 'small', quorum: 'majority', first: 1, trace: 200 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const num = (): number => {
      const n = Number(value);
      if (!Number.isInteger(n)) throw new Error(`${flag} needs an integer`);
      i++;
      return n;
    };
    if (flag === '--seeds') args.seeds = num();
    else if (flag === '--seed') args.seed = num();
    else if (flag === '--nodes') args.nodes = num();
    else if (flag === '--steps') args.steps = num();
    else if (flag === '--trace') args.trace = num();
    else if (flag === '--first') args.first = num();
    else if (flag === '--reads') {
      if (value !== 'sequential' && value !== 'linearizable') throw new Error('--reads must be sequential or linearizable');
      args.reads = value;
      i++;
    }
    else if (flag === '--window') {
      if (value !== 'small' && value !== 'production') throw new Error('--window must be small or production');
      args.window = value;
      i++;
    }
    else if (flag === '--quorum') {
      if (value !== 'majority' && value !== 'hierarchical') throw new Error('--quorum must be majority or hierarchical');
      args.quorum = value;
      i++;
    }
    else if (flag === '--profile') {
      if (!FAULT_PROFILES.includes(value as FaultProfile)) throw new Error(`--profile must be one of ${FAULT_PROFILES.join(', ')}`);
      args.profile = value as FaultProfile;
      i++;
    }
    else if (flag === '--plant') {
      args.plant = value as PlantedBug;
      i++;
    } else throw new Error(`unknown flag ${flag}`);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const seeds = args.seed !== null ? [args.seed] : Array.from({ length: args.seeds }, (_, i) => i + args.first);
const started = Date.now();
let failures = 0;
let committed = 0;
const coverage = emptyCoverage();
for (const seed of seeds) {
  const r = await runSimulation({ seed, nodes: args.nodes, steps: args.steps, plant: args.plant, profile: args.profile, readConsistency: args.reads, traceLimit: args.trace, memoryWindow: args.window, quorum: args.quorum });
  committed += r.committed;
  addCoverage(coverage, r.coverage);
  if (r.ok && args.seed === null) continue;
  if (!r.ok) failures++;
  console.log(`seed ${seed} (${args.nodes} nodes): ${r.ok ? 'ok' : 'FAILED ' + r.error}`);
  console.log(`  events=${r.events} virtual=${r.virtualMs}ms committed=${r.committed} leaders=${r.leadersElected}`);
  if (!r.ok || args.seed !== null) for (const line of r.trace.slice(-args.trace)) console.log('  ' + line);
  if (!r.ok) console.log(`  replay: npm run sim -- --seed ${seed} --nodes ${args.nodes} --steps ${args.steps} --profile ${args.profile} --window ${args.window} --quorum ${args.quorum}${args.plant ? ` --plant ${args.plant}` : ''}`);
}
console.log('coverage', JSON.stringify(coverage));
console.log(`${seeds.length - failures}/${seeds.length} seeds passed, ${committed} txns committed, ${Date.now() - started} ms`);
process.exitCode = failures > 0 ? 1 : 0;
