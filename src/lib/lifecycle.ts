// What mv-image started and must end with itself: the process groups of its children, things
// to stop (builder containers) and scratch paths. SIGINT, SIGTERM and SIGHUP end the children's
// groups (SIGTERM, then SIGKILL after a grace period), run the stoppers, remove the paths, print
// one line and exit 128 + the signal's number. Children run in process groups of their own, so a
// terminal's Ctrl-C reaches mv-image alone and nothing is killed in an order we did not choose.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:os';
import { msg } from './messages';

const groups = new Set<number>();
const stoppers = new Set<() => Promise<unknown>>();
/** Scratch paths, removed newest first (a temp dir before the lock that guards it). */
const paths: string[] = [];
let stopping: NodeJS.Signals | undefined;
let hooked = false;
let stage = 'build';

/** How long children get between SIGTERM and SIGKILL, and then to be gone. */
const GRACE_MS = 3000;
const STOPPER_MS = 15_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The stage in progress, named in the line printed when a signal ends the build. */
export function setStage(name: string): void {
  stage = name;
}

/** True once a signal is being handled: callers must not report their child's death as a failure. */
export function isStopping(): boolean {
  return stopping !== undefined;
}

/** Never settles while a signal is handled, so the interrupted code reports nothing; resolves otherwise. */
export function halted(): Promise<void> {
  return stopping ? new Promise(() => {}) : Promise.resolve();
}

/** A child that leads its own process group (spawned detached); ended with mv-image. */
export function trackGroup(pgid: number): () => void {
  hook();
  groups.add(pgid);
  return () => {
    groups.delete(pgid);
    killGroup(pgid, 'SIGKILL');
  };
}

/** Something to stop on a signal (e.g. remove a container). */
export function onStop(stop: () => Promise<unknown>): () => void {
  hook();
  stoppers.add(stop);
  return () => {
    stoppers.delete(stop);
  };
}

/** A path removed on every exit (signal, error, process.exit) unless untracked first. */
export function trackPath(path: string): () => void {
  hook();
  paths.push(path);
  return () => {
    const i = paths.lastIndexOf(path);
    if (i >= 0) paths.splice(i, 1);
  };
}

function killGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* already gone */
  }
}

/** Whether any process of the group still runs (zombies do not count: this machine's init may
 *  never reap an orphan, and a zombie holds nothing). */
export function groupAlive(pgid: number): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command (which may hold spaces): state, ppid, pgrp, ...
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

async function waitGone(pgids: number[], ms: number): Promise<number[]> {
  const until = Date.now() + ms;
  let left = pgids.filter(groupAlive);
  while (left.length && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(groupAlive);
  }
  return left;
}

function removePaths(): void {
  for (const p of paths.splice(0).reverse()) rmSync(p, { recursive: true, force: true });
}

async function stop(sig: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = sig;
  const pgids = [...groups];
  for (const g of pgids) killGroup(g, 'SIGTERM');
  // An engine that does not answer must not keep us here: its containers are swept next time.
  await Promise.race([Promise.allSettled([...stoppers].map((s) => s())), new Promise((r) => setTimeout(r, STOPPER_MS))]);
  const stubborn = await waitGone(pgids, GRACE_MS);
  for (const g of stubborn) killGroup(g, 'SIGKILL');
  await waitGone(stubborn, GRACE_MS);
  removePaths();
  const line = msg.interrupted(stage, sig).line();
  process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}${line}\n`);
  process.exit(128 + constants.signals[sig]);
}

/** Installed with the first thing tracked: commands that start nothing keep Node's defaults. */
function hook(): void {
  if (hooked) return;
  hooked = true;
  for (const sig of SIGNALS)
    process.on(sig, () => {
      void stop(sig);
    });
  // Any other way out (an uncaught error, process.exit elsewhere): end the children, drop the paths.
  process.on('exit', () => {
    for (const g of groups) killGroup(g, 'SIGKILL');
    removePaths();
  });
}
