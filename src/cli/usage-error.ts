// A bad command line: main() reports it as "zabkeeper: <message>" with a pointer to --help, exit code 2.

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
