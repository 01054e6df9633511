// The Docker engine, reached through dockerode (the engine's HTTP API, never the docker CLI).
// DOCKER_HOST is honoured (unix:// or tcp://), else /var/run/docker.sock.
import Docker from 'dockerode';
import { msg } from '../lib/messages';

export function engineAddress(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** Maps a connection failure to its one-line error; anything else is rethrown as is. */
export function engineError(e: unknown): never {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') throw msg.enginePermission(engineAddress());
  if (code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT') {
    throw msg.engineUnreachable(engineAddress());
  }
  throw e;
}

/** A client for an engine that answered a ping. */
export async function connectEngine(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (e) {
    engineError(e);
  }
  return docker;
}

/** True when an engine answers (for --builder auto); never throws. */
export async function engineAnswers(): Promise<boolean> {
  try {
    await new Docker({ timeout: 3000 } as Docker.DockerOptions).ping();
    return true;
  } catch {
    return false;
  }
}
