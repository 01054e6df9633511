// The one shape of a pipeline stage (src/stages/*.ts): a name, typed inputs, and a run that
// turns them into an artefact, taking it from the cache (src/lib/cache.ts) when the cache key
// matches. The key is a hash of what run reads from its inputs, and only of that (each stage
// module says what it hashes); the artefact tells whether it came from the cache. How stages feed
// one another is src/pipeline.ts's business alone: a stage never runs another stage.
import type { Progress } from './progress';

export interface Artefact {
  /** Taken from the cache, not built. */
  cached: boolean;
}

export interface Stage<I, A extends Artefact> {
  /** One name for the stage: its directory under the cache root, its progress line and its
   *  timing in `build --json`. */
  readonly name: string;
  /** The artefact for these inputs: from the cache, or built into it. */
  run(progress: Progress, inputs: I): Promise<A>;
}

/** Runs a stage as one step of `progress`: its line, and its timing under its name. */
export function runStage<I, A extends Artefact>(progress: Progress, stage: Stage<I, A>, inputs: I): Promise<A> {
  return progress.stage(stage.name, () => stage.run(progress, inputs));
}
