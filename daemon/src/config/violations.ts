// Collects every reason a config is refused, each with the proto field path it concerns
// (`networks[1].hosts[3].ip`). Validation never stops at the first problem.

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
  /**
   * A conflict between two objects is reported at the one checked later; this tells it at the other,
   * for a Patch that put that one (config/patch.ts relocate). Never sent to clients.
   */
  readonly otherSide?: { readonly field: string; readonly description: string };
}

export class Violations {
  readonly items: FieldViolation[] = [];

  add(field: string, description: string, otherSide?: FieldViolation['otherSide']): void {
    this.items.push(otherSide === undefined ? { field, description } : { field, description, otherSide });
  }

  get isEmpty(): boolean {
    return this.items.length === 0;
  }
}

/**
 * Remembers, for a section of objects keyed by id, the first path each id was seen at, and reports
 * later duplicates: `vips[4].id: duplicate id "v1" (also vips[0])`.
 */
export class UniqueKeys<K> {
  private readonly seen = new Map<K, string>();

  constructor(
    private readonly violations: Violations,
    private readonly what: string,
  ) {}

  /** Returns false (and records a violation) when `key` was seen before. */
  claim(key: K, path: string, shown: string = String(key)): boolean {
    const first = this.seen.get(key);
    if (first !== undefined) {
      this.violations.add(path, `duplicate ${this.what} ${shown} (also ${first})`, {
        field: first,
        description: `duplicate ${this.what} ${shown} (also ${path})`,
      });
      return false;
    }
    this.seen.set(key, path);
    return true;
  }
}
