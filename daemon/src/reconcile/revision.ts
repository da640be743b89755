// Numbers naming rendered objects, so that a Patch's delta can say which one it was derived from
// without holding it. A WeakRef would not do: V8 clears WeakRefs only in full GCs, so each delta's
// WeakRef kept the generation before alive through every young-generation GC, and that one the
// generation before it, until the next full GC.

let last = 0;

/** A number no other rendered object has. */
export function nextRevision(): number {
  return ++last;
}

/** `next`'s delta when it was derived from `before` itself, the only state it can move the kernel from. */
export function deltaSince<D extends { readonly base: number }>(
  next: { readonly delta?: D },
  before: { readonly revision?: number },
): D | undefined {
  return next.delta !== undefined && next.delta.base === before.revision ? next.delta : undefined;
}
