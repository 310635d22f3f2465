import { expect } from 'chai';
import { parseCommandLine, progressLine, stopped, wholeNumbers } from '../../scripts/cli.js';

describe('command-line tools: arguments by node:util parseArgs, --help, progress only on a terminal (scripts/cli)', () => {
  const options = { limit: { type: 'string' }, all: { type: 'boolean' } } as const;
  let errors: string[];
  let printed: string[];
  const original = { error: console.error, log: console.log };
  beforeEach(() => {
    errors = [];
    printed = [];
    console.error = (text: string) => errors.push(text);
    console.log = (text: string) => printed.push(text);
  });
  afterEach(() => {
    console.error = original.error;
    console.log = original.log;
  });

  it('answers options and positionals, and stops with 0 after printing the usage for --help or -h', () => {
    const parsed = parseCommandLine('tool', ['list', '--limit', '5', '--all'], options, 'usage: tool');
    expect(stopped(parsed)).to.equal(false);
    if (!stopped(parsed)) {
      expect(parsed.positionals).to.deep.equal(['list']);
      expect(parsed.values).to.deep.equal({ limit: '5', all: true });
    }
    for (const help of ['--help', '-h']) {
      const answer = parseCommandLine('tool', ['list', help], options, 'usage: tool');
      expect(stopped(answer) && answer.exitCode).to.equal(0);
    }
    expect(printed).to.deep.equal(['usage: tool', 'usage: tool']);
  });

  it('stops with 2 naming an unknown option or a missing value, followed by the usage', () => {
    const unknown = parseCommandLine('tool', ['--bogus'], options, 'usage: tool');
    expect(stopped(unknown) && unknown.exitCode).to.equal(2);
    const missing = parseCommandLine('tool', ['--limit'], options, 'usage: tool');
    expect(stopped(missing) && missing.exitCode).to.equal(2);
    expect(errors[0]).to.match(/^tool: .*--bogus.*\nusage: tool$/s);
    expect(errors[1]).to.match(/^tool: .*--limit.*\nusage: tool$/s);
  });

  it('reads whole-number options, and names the first one that is not', () => {
    expect(wholeNumbers({ rate: '20', seconds: '3' }, ['rate', 'seconds', 'orders'], 1)).to.deep.equal({
      numbers: { rate: 20, seconds: 3 },
    });
    expect(wholeNumbers({ rate: '0' }, ['rate'], 1)).to.deep.equal({ error: '--rate must be a whole number from 1 (got "0")' });
    expect(wholeNumbers({ seed: '1.5' }, ['seed'], 0)).to.deep.equal({
      error: '--seed must be a whole number from 0 (got "1.5")',
    });
  });

  it('redraws one line in place on a terminal, and writes plain lines rarely (and the last) elsewhere', () => {
    const written: string[] = [];
    const stream = (isTTY: boolean) => ({ isTTY, write: (text: string) => written.push(text) }) as unknown as NodeJS.WriteStream;
    const tty = progressLine(stream(true));
    tty.update('1 of 3');
    tty.update('2 of 3');
    tty.update('3 of 3', true);
    tty.done();
    expect(written).to.deep.equal(['\r\u001b[2K1 of 3', '\r\u001b[2K3 of 3', '\n']);
    written.length = 0;
    const plain = progressLine(stream(false), 60_000);
    plain.update('1 of 3');
    plain.update('2 of 3');
    plain.update('3 of 3', true);
    plain.done();
    expect(written).to.deep.equal(['1 of 3\n', '3 of 3\n']);
  });
});
