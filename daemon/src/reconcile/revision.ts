// Numbers naming rendered objects, so that a Patch's delta can say which one it was derived from
// without holding it. A WeakRef would not do: V8 clears WeakRefs only in full GCs, so each delta's
// WeakRef kept the generation before alive through every young-generation GC, and that one the
// generation before it, until the next full GC.

let last = 0;

/** A number no other rendered object has. */
export function nextRevision(): number {
  return ++last;
}
