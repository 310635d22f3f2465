import { expect } from 'chai';
import { dispatchByType, oneByOne, type HandlerTable, type Message } from '../../platform/messageHandler.js';

type Event =
  | { readonly type: 'confirmed'; readonly order: string }
  | { readonly type: 'modified'; readonly order: string; readonly lines: number };
type Msg = Message<Event> & { readonly n: number };

let next = 0;
const msg = (event: Event): Msg => ({ event, deliveries: 1, n: next++ });
const confirmed = (order: string) => msg({ type: 'confirmed', order });
const modified = (order: string) => msg({ type: 'modified', order, lines: 1 });

describe('one message-handler shape: dispatch by type (platform/messageHandler)', () => {
  it('gives each type its own messages together, and keeps one order’s messages in turn', async () => {
    const calls: string[][] = [];
    const record = (name: string) => async (messages: readonly Msg[]) => {
      calls.push([name, ...messages.map((m) => m.event.order)]);
      return [];
    };
    const table: HandlerTable<Msg, Event['type']> = { confirmed: record('confirmed'), modified: record('modified') };
    const handle = dispatchByType(table, (m) => m.event.order);

    const failures = await handle([confirmed('a'), confirmed('b'), modified('a'), confirmed('c'), modified('d')]);

    expect(failures).to.deep.equal([]);
    // Round one: the first message of each order, by type; round two: a's modification after its confirmation.
    expect(calls).to.deep.equal([
      ['confirmed', 'a', 'b', 'c'],
      ['modified', 'd'],
      ['modified', 'a'],
    ]);
  });

  it('narrows each handler to its type', async () => {
    let lines = 0;
    const table: HandlerTable<Msg, Event['type']> = {
      confirmed: async () => [],
      modified: oneByOne(async (m) => void (lines += m.event.lines)), // `lines` exists on modified events only
    };
    await dispatchByType(table, (m) => m.event.order)([modified('a'), modified('b')]);
    expect(lines).to.equal(2);
  });

  it('fails an order’s later messages with its failure, and leaves other orders alone', async () => {
    const boom = new Error('PSP away');
    const handled: string[] = [];
    const table: HandlerTable<Msg, Event['type']> = {
      confirmed: oneByOne(async (m) => {
        if (m.event.order === 'a') throw boom;
        handled.push(`confirmed ${m.event.order}`);
      }),
      modified: oneByOne(async (m) => void handled.push(`modified ${m.event.order}`)),
    };
    const first = confirmed('a');
    const later = modified('a');
    const failures = await dispatchByType(table, (m) => m.event.order)([first, confirmed('b'), later, modified('b')]);

    expect(failures).to.deep.equal([
      { message: first, error: boom },
      { message: later, error: boom },
    ]);
    expect(handled).to.deep.equal(['confirmed b', 'modified b']);
  });

  it('fails all messages of a type whose handler throws, and the rest still run', async () => {
    const boom = new Error('database away');
    const table: HandlerTable<Msg, Event['type']> = {
      confirmed: async () => {
        throw boom;
      },
      modified: async () => [],
    };
    const a = confirmed('a');
    const b = confirmed('b');
    const failures = await dispatchByType(table, (m) => m.event.order)([a, b, modified('c')]);
    expect(failures.map((f) => [f.message, f.error])).to.deep.equal([
      [a, boom],
      [b, boom],
    ]);
  });

  it('is a table the compiler checks: one handler for every type, none for another', () => {
    // @ts-expect-error: 'modified' has no handler
    const incomplete: HandlerTable<Msg, Event['type']> = { confirmed: async () => [] };
    const extra: HandlerTable<Msg, Event['type']> = {
      confirmed: async () => [],
      modified: async () => [],
      // @ts-expect-error: 'shipped' is not a type these messages have
      shipped: async () => [],
    };
    expect(Object.keys(incomplete)).to.deep.equal(['confirmed']);
    expect(Object.keys(extra)).to.have.length(3);
  });

  it('fails, without throwing, a message of a type the table lacks (one that got past the type checks)', async () => {
    const table = { confirmed: async () => [] } as unknown as HandlerTable<Msg, Event['type']>;
    const stray = modified('a');
    const failures = await dispatchByType(table, (m) => m.event.order)([stray]);
    expect(failures).to.have.length(1);
    expect(String(failures[0]?.error)).to.include('no handler for modified');
  });
});
