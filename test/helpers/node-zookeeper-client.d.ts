// node-zookeeper-client ships no types; test/helpers/nzc.ts wraps the parts the tests use.
declare module 'node-zookeeper-client' {
  const zookeeper: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  export default zookeeper;
}
