// Loads a user function described as data (types.ts FunctionSpec) inside the
// worker that will call it.
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import type { FunctionSpec } from './types.js';
import type { PacketFunction } from './packet-view.js';

export async function loadUserFunction(spec: FunctionSpec): Promise<PacketFunction> {
  if ('source' in spec) {
    let fn: unknown;
    try {
      fn = new Function(`"use strict"; return (${spec.source});`)();
    } catch (e) {
      throw new InvalidArgumentError(`the function source does not compile: ${(e as Error).message}; pass an expression such as "(p) => p.port % 2"`);
    }
    if (typeof fn !== 'function') throw new InvalidArgumentError(`the function source evaluates to ${typeof fn}, not a function; pass an expression such as "(p) => p.port % 2"`);
    return fn as PacketFunction;
  }
  if (!('module' in spec) || typeof spec.module !== 'string') throw new InvalidArgumentError('a function is { source } or { module, export }');
  const url = spec.module.startsWith('file:') ? spec.module : pathToFileURL(isAbsolute(spec.module) ? spec.module : resolve(spec.module)).href;
  let mod: Record<string, unknown>;
  try {
    mod = await import(url) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidArgumentError(`cannot import the function module ${spec.module}: ${(e as Error).message}`);
  }
  const name = spec.export ?? 'default';
  const fn = mod[name];
  if (typeof fn !== 'function') throw new InvalidArgumentError(`module ${spec.module} has no function export '${name}' (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  return fn as PacketFunction;
}
