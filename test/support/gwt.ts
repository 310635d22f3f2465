import { expect } from 'chai';

/**
 * Given/when/then for the pure parts: deciders, saga workflows and projections (after Emmett's
 * deciderSpecification). A test states what came before, what happens, and what must come of it;
 * nothing runs until a `then`, so a throw is caught by `thenThrows` and fails any other `then`.
 */
export interface Then<Outcome> {
  /** The outcome deep-equals this. */
  then(expected: Outcome): void;
  /** The outcome passes these assertions (for a part of it: `deep.include`, one field). */
  thenAssert(assert: (outcome: Outcome) => void): void;
  /** It throws an error of this type. */
  thenThrows(type: new (...args: never[]) => Error): void;
}

export interface Given<Before, Input, Outcome> {
  given(before: Before): { when(input: Input): Then<Outcome> };
}

/** The one specification the three below are: `run(before, input)` evaluated at the `then`. */
export function specification<Before, Input, Outcome>(
  run: (before: Before, input: Input) => Outcome,
): Given<Before, Input, Outcome> {
  return {
    given: (before) => ({
      when: (input) => ({
        then: (expected) => expect(run(before, input)).to.deep.equal(expected),
        thenAssert: (assert) => assert(run(before, input)),
        thenThrows: (type) => expect(() => run(before, input)).to.throw(type),
      }),
    }),
  };
}

/** A decider `decide(command, state)`: given the state, when the command, then the events (or an error). */
export function deciderSpec<Command, State, Decision>(
  decide: (command: Command, state: State) => Decision,
): Given<State, Command, Decision> {
  return specification((state: State, command: Command) => decide(command, state));
}

/** A saga workflow `next(state, moment)`: given its recorded steps, when asked at a moment, then its next action. */
export function workflowSpec<State, Moment, Action>(
  next: (state: State, moment: Moment) => Action,
): Given<State, Moment, Action> {
  return specification(next);
}

/** A projection's `evolve`: given the events it folded before, when these arrive, then the document. */
export function projectionSpec<Doc, Event>(
  evolve: (doc: Doc | undefined, event: Event) => Doc | undefined,
): Given<readonly Event[], readonly Event[], Doc | undefined> {
  return specification((history: readonly Event[], events: readonly Event[]) =>
    [...history, ...events].reduce<Doc | undefined>(evolve, undefined),
  );
}
