// zkCli.sh's own command-line form for `zabkeeper shell`, rewritten into the yargs form.

import { describe, expect, it } from 'vitest';
import { zkCliShellArgs } from '../../../src/cli/main.js';

describe('zkCliShellArgs', () => {
  it('turns -server/-timeout into long options and the command words into the part after --', () => {
    expect(zkCliShellArgs(['shell', '-server', 'h:2181', 'ls', '-R', '/'])).toEqual(['shell', '--server', 'h:2181', '--', 'ls', '-R', '/']);
    expect(zkCliShellArgs(['shell', '-timeout', '5000', '-server', 'h:2181', 'get', '/a'])).toEqual(['shell', '--timeout', '5000', '--server', 'h:2181', '--', 'get', '/a']);
  });

  it('leaves the project\'s own forms and other commands alone', () => {
    expect(zkCliShellArgs(['shell', '--server', 'h:2181', '--', 'ls', '/'])).toEqual(['shell', '--server', 'h:2181', '--', 'ls', '/']);
    expect(zkCliShellArgs(['shell', '-s', 'h:2181'])).toEqual(['shell', '-s', 'h:2181']);
    expect(zkCliShellArgs(['server', '-server'])).toEqual(['server', '-server']);
    expect(zkCliShellArgs(['shell'])).toEqual(['shell']);
  });
});
